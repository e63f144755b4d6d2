#ifndef COHORT_CMALLOC_SHIM_H
#define COHORT_CMALLOC_SHIM_H
#include <malloc.h>
#endif
