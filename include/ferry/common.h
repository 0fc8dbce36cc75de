/* ferry: shared definitions for every public header. */
#ifndef FERRY_COMMON_H
#define FERRY_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define FERRY_API __attribute__((visibility("default")))

#if defined(__GNUC__)
#define FERRY_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FERRY_PRINTF(a, b)
#endif

#endif
