// scaffolding; replaced by the real implementation
