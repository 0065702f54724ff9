# cmake -DIN=file -DOUT=file.cc -DSYMBOL=name -DNAMESPACE=ns -P EmbedText.cmake
# Writes OUT defining `extern const char NAMESPACE::SYMBOL[]` with IN's
# bytes, as a raw string literal (IN must not contain the delimiter).
file(READ "${IN}" content)
string(FIND "${content}" ")streamrec_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter")
endif()
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} by cmake/EmbedText.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\n"
  "extern const char ${SYMBOL}[];\n"
  "const char ${SYMBOL}[] = R\"streamrec_embed(${content})streamrec_embed\";\n"
  "}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
