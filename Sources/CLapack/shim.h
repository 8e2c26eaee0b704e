#ifndef ICL_CLAPACK_SHIM_H
#define ICL_CLAPACK_SHIM_H
// CBLAS from OpenBLAS and LAPACKE from reference LAPACK (Debian). Only NumericCore imports this module.
#include <cblas.h>
#include <lapacke.h>

// OpenBLAS extensions; declared here so the shim does not depend on which cblas.h the alternatives pick.
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
#endif
