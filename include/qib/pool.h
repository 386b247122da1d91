/* The shared thread pool and deterministic parallel loops.
 *
 * qib_parallel_for splits [0, n) into fixed blocks of block_size items
 * (the last may be shorter) whatever the number of threads, and calls fn once
 * per block, possibly concurrently.  A reduction stores one partial result per
 * block (index = block number) and combines them afterwards in block order,
 * so results are bit-identical for any thread count. */
#ifndef QIB_POOL_H
#define QIB_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qib_pool qib_pool;

/** Start a pool of @p nthreads workers (1 = run in the caller, 0 = number of
 * online CPUs).  Transfer full. Returns QIB_EINVAL, QIB_ENOMEM or QIB_EIO
 * (threads could not be started). */
int qib_pool_new(int nthreads, qib_pool **out);

/** Stop the workers and free the pool; sets *p to NULL.  NULL accepted. */
void qib_pool_free(qib_pool **p);

/** Number of threads that run blocks (1 for a NULL pool). */
int qib_pool_threads(const qib_pool *p);

/** Function run on one block: items [begin, end) of block number @p block. */
typedef void (*qib_block_fn)(void *arg, size_t block, size_t begin, size_t end);

/** Number of blocks [0, n) splits into: ceil(n / block_size); 0 when n is 0. */
size_t qib_nblocks(size_t n, size_t block_size);

/** Run @p fn over every block of [0, n) and return when all are done.
 * A NULL pool runs the blocks in order in the caller.  Not reentrant: fn must
 * not call qib_parallel_for on the same pool.  Returns QIB_EINVAL when
 * block_size is 0. */
int qib_parallel_for(qib_pool *p, size_t n, size_t block_size, qib_block_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
