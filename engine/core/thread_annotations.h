// Clang's thread-safety annotations (-Wthread-safety): lock rules that the
// compiler checks. A member says which mutex guards it (GUARDED_BY), a
// function which mutex it must be called with (REQUIRES) or without
// (EXCLUDES); engine/core/mutex.h has the annotated Mutex, MutexLock and
// CondVar that the checks understand. The macros expand to nothing on
// compilers without the attributes (GCC): there they are documentation.
// The `clang` and `tsan` presets build with STREAMREC_THREAD_SAFETY, which
// makes a broken rule a compile error. After leveldb's
// port/thread_annotations.h and the Clang manual
// (clang.llvm.org/docs/ThreadSafetyAnalysis.html).
#pragma once

#if defined(__clang__)
#define STREAMREC_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define STREAMREC_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are capabilities (mutexes) named `x` in warnings.
#ifndef CAPABILITY
#define CAPABILITY(x) STREAMREC_THREAD_ANNOTATION(capability(x))
#endif

// On a class: RAII objects that hold a capability for their lifetime.
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY STREAMREC_THREAD_ANNOTATION(scoped_lockable)
#endif

// On a member: read and written only with the mutex held.
#ifndef GUARDED_BY
#define GUARDED_BY(x) STREAMREC_THREAD_ANNOTATION(guarded_by(x))
#endif

// On a pointer member: what it points to is read and written only with the
// mutex held (the pointer itself is not guarded).
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) STREAMREC_THREAD_ANNOTATION(pt_guarded_by(x))
#endif

// On a function: called with these mutexes held (exclusively).
#ifndef REQUIRES
#define REQUIRES(...) STREAMREC_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#endif

// On a function: called without these mutexes held (it takes them).
#ifndef EXCLUDES
#define EXCLUDES(...) STREAMREC_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#endif

// On a function: returns with the mutexes held that it was called without.
#ifndef ACQUIRE
#define ACQUIRE(...) STREAMREC_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#endif

// On a function: returns with the mutexes released that it was called with.
#ifndef RELEASE
#define RELEASE(...) STREAMREC_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#endif

// On a function: tells the analysis the mutex is held from here on
// (checked at run time, if at all, by the function).
#ifndef ASSERT_CAPABILITY
#define ASSERT_CAPABILITY(x) STREAMREC_THREAD_ANNOTATION(assert_capability(x))
#endif

// On a function: not analysed. For code whose locking the analysis cannot
// follow; say why next to it.
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS STREAMREC_THREAD_ANNOTATION(no_thread_safety_analysis)
#endif
