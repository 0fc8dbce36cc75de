/* ferry: test hooks of the allocator (util.c). Not part of the API: the unit
 * tests reach them through tests/unit/unit.h. They are always compiled in and
 * cost an atomic add per allocation. */
#ifndef FERRY_UTIL_INT_H
#define FERRY_UTIL_INT_H

#include <stddef.h>

/* Bytes allocated through ferry_malloc and not freed yet, and the most there
 * ever were. */
size_t ferry_alloc_current(void);
size_t ferry_alloc_peak(void);
/* Make the nth allocation from now fail (0 disables). */
void ferry_alloc_fail_after(unsigned long n);

#endif
