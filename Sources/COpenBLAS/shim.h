#include <cblas.h>
// LAPACK symmetric eigensolver (Fortran ABI), used by PCA.
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w,
             float *work, const int *lwork, int *iwork, const int *liwork, int *info);
