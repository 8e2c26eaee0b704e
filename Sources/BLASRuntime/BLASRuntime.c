// OpenBLAS picks its kernel when the library is loaded, from the CPU model it recognizes. Debian's
// OpenBLAS 0.3.21 does not recognize recent CPUs (an AVX-512 Xeon, for example) and falls back to its
// generic "Prescott" SSE3 kernels, several times slower. Setting OPENBLAS_CORETYPE in the running process
// is too late (the kernel is already chosen), so at start-up, before main, this constructor checks the CPU
// itself and, only when OpenBLAS fell back and the CPU has the needed instructions and nobody set
// OPENBLAS_CORETYPE, re-executes the program once with OPENBLAS_CORETYPE set. ICL_BLAS_AUTOSELECT=0 opts out.
#include "BLASRuntime.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

char *openblas_get_corename(void);   // from libopenblas, linked through CLapack

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long icl_xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

int icl_cpu_features(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return 0;
    unsigned long long xcr0 = icl_xgetbv0();
    int ymm_ok = (xcr0 & 0x6) == 0x6;            // SSE and AVX state
    int zmm_ok = (xcr0 & 0xe6) == 0xe6;          // plus opmask and ZMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx2 = (b >> 5) & 1;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 28) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
    int features = 0;
    if (ymm_ok && avx2 && fma) features |= ICL_CPU_AVX2_FMA;
    if (zmm_ok && avx512 && (features & ICL_CPU_AVX2_FMA)) features |= ICL_CPU_AVX512;
    return features;
}
#else
int icl_cpu_features(void) { return 0; }
#endif

// OpenBLAS's generic x86 kernels: what it uses when it does not recognize the CPU.
static const char *icl_generic_cores[] = {
    "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Barcelona", "Unknown", NULL
};

const char *icl_blas_suggested_coretype(const char *corename, int cpu_features, const char *env_coretype) {
    if (env_coretype != NULL || corename == NULL) return NULL;
    int generic = 0;
    for (const char **g = icl_generic_cores; *g; g++) {
        if (strcasecmp(corename, *g) == 0) generic = 1;
    }
    if (!generic) return NULL;
    if (cpu_features & ICL_CPU_AVX512) return "SkylakeX";
    if (cpu_features & ICL_CPU_AVX2_FMA) return "Haswell";
    return NULL;
}

const char *icl_blas_selected_coretype(void) {
    return getenv("ICL_BLAS_SELECTED_CORETYPE");
}

__attribute__((constructor)) static void icl_blas_select_kernel(int argc, char **argv, char **envp) {
    (void)argc; (void)envp;
    const char *optout = getenv("ICL_BLAS_AUTOSELECT");
    if (optout != NULL && strcmp(optout, "0") == 0) return;
    if (getenv("ICL_BLAS_SELECTED_CORETYPE") != NULL) return;   // re-executed already: never loop
    const char *core = icl_blas_suggested_coretype(openblas_get_corename(), icl_cpu_features(),
                                                   getenv("OPENBLAS_CORETYPE"));
    if (core == NULL || argv == NULL) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("ICL_BLAS_SELECTED_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);
    // exec failed: carry on with OpenBLAS's own choice and leave the environment as it was.
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("ICL_BLAS_SELECTED_CORETYPE");
}

// Tensors of a training step are a few MB each and are freed and reallocated every step. With glibc's
// defaults, large blocks are returned to the kernel (heap trimming, mmap) and come back as fresh zeroed
// pages on the next step: half of a step went to page faults. Keeping freed memory for reuse, as
// framework allocators do, removes that; the process's footprint stays at its peak working set.
// Environment settings (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_) take precedence.
__attribute__((constructor)) static void icl_tune_allocator(void) {
#if defined(__GLIBC__)
    if (getenv("MALLOC_TRIM_THRESHOLD_") == NULL) mallopt(M_TRIM_THRESHOLD, 1 << 30);
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL) mallopt(M_MMAP_THRESHOLD, 1 << 28);
#endif
}

// OpenBLAS single-threaded: the workbench splits its own large products over its worker threads (Parallel,
// Tensor+Matmul). OpenBLAS's pool threads spin-wait (sched_yield) after every call, and on a 2-core machine
// they took the core the workbench's second worker needed (a profile of GPT training: 44 % of samples in
// sched_yield). OPENBLAS_NUM_THREADS set by the user is respected.
void openblas_set_num_threads(int num_threads);
__attribute__((constructor)) static void icl_blas_single_thread(void) {
    if (getenv("OPENBLAS_NUM_THREADS") == NULL) openblas_set_num_threads(1);
}
