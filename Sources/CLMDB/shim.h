#ifndef COHORT_CLMDB_SHIM_H
#define COHORT_CLMDB_SHIM_H
#include <lmdb.h>
#endif
