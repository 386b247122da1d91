/* The thread pool: every item visited once, fixed blocks, and a reduction
 * that gives the same bits for any number of threads. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qib/qib.h"
#include "tap.h"

#define N 1000000
#define BS 4096

struct sum_job {
    const double *x;
    double *partial; /* one per block */
};

static void sum_block(void *arg, size_t block, size_t begin, size_t end)
{
    struct sum_job *j = arg;
    double s = 0;
    for (size_t i = begin; i < end; i++)
        s += j->x[i];
    j->partial[block] = s;
}

static double reduce(qib_pool *p, const double *x)
{
    size_t nb = qib_nblocks(N, BS);
    struct sum_job j = {x, calloc(nb, sizeof(double))};
    if (!j.partial)
        bail("out of memory");
    qib_parallel_for(p, N, BS, sum_block, &j);
    double s = 0;
    for (size_t b = 0; b < nb; b++)
        s += j.partial[b];
    free(j.partial);
    return s;
}

struct visit_job {
    unsigned char *seen;
    atomic_uint *block_calls;
    size_t n, bs;
    atomic_int bad_bounds;
};

static void visit_block(void *arg, size_t block, size_t begin, size_t end)
{
    struct visit_job *j = arg;
    size_t want_end = begin + j->bs < j->n ? begin + j->bs : j->n;
    if (begin != block * j->bs || end != want_end)
        atomic_fetch_add(&j->bad_bounds, 1);
    atomic_fetch_add(&j->block_calls[block], 1);
    for (size_t i = begin; i < end; i++)
        j->seen[i]++;
}

static void test_visits(qib_pool *p, size_t n, size_t bs)
{
    size_t nb = qib_nblocks(n, bs);
    struct visit_job j = {calloc(n ? n : 1, 1), calloc(nb ? nb : 1, sizeof(atomic_uint)), n, bs, 0};
    if (!j.seen || !j.block_calls)
        bail("out of memory");
    for (size_t b = 0; b < nb; b++)
        atomic_init(&j.block_calls[b], 0);
    is_int(qib_parallel_for(p, n, bs, visit_block, &j), QIB_OK, "%d threads, n %zu, block %zu",
           qib_pool_threads(p), n, bs);
    int once = 1;
    for (size_t i = 0; i < n; i++)
        once &= j.seen[i] == 1;
    for (size_t b = 0; b < nb; b++)
        once &= atomic_load(&j.block_calls[b]) == 1;
    ok(once && atomic_load(&j.bad_bounds) == 0,
       "  every item and block visited exactly once, bounds [b*bs, min(n, (b+1)*bs))");
    free(j.seen);
    free(j.block_calls);
}

static qib_pool *nested_pool;

static void inner_block(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    atomic_fetch_add((atomic_size_t *)arg, end - begin);
}

static void outer_block(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    for (size_t i = begin; i < end; i++)
        qib_parallel_for(nested_pool, 10, 3, inner_block, arg);
}

static void count_block(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    atomic_fetch_add((atomic_size_t *)arg, end - begin);
}

struct caller {
    qib_pool *p;
    atomic_size_t count;
};

static void *concurrent_caller(void *arg)
{
    struct caller *c = arg;
    for (int k = 0; k < 200; k++)
        qib_parallel_for(c->p, 1000, 7, count_block, &c->count);
    return NULL;
}

int main(void)
{
    plan_lazy();
    is_int((long long)qib_nblocks(0, 10), 0, "nblocks(0, 10) = 0");
    is_int((long long)qib_nblocks(10, 10), 1, "nblocks(10, 10) = 1");
    is_int((long long)qib_nblocks(11, 10), 2, "nblocks(11, 10) = 2");
    is_int((long long)qib_nblocks(SIZE_MAX, 2), (long long)(SIZE_MAX / 2 + 1),
           "nblocks(SIZE_MAX, 2) without overflow");
    is_int(qib_pool_threads(NULL), 1, "NULL pool: 1 thread");

    qib_pool *p = NULL;
    is_int(qib_pool_new(-1, &p), QIB_EINVAL, "negative thread count refused");
    is_int(qib_pool_new(0, &p), QIB_OK, "pool of online CPUs");
    is_int(qib_pool_threads(p), (long long)sysconf(_SC_NPROCESSORS_ONLN), "threads = CPUs");
    qib_pool_free(&p);
    ok(p == NULL, "free clears the pointer");
    qib_pool_free(&p);

    /* Pseudo-random doubles of very different magnitudes, so that the sum
     * depends on the order of the additions. */
    double *x = malloc(N * sizeof *x);
    if (!x)
        bail("out of memory");
    uint64_t r = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < N; i++) {
        r = r * 6364136223846793005u + 1442695040888963407u; /* LCG (Knuth MMIX) */
        double u = (double)(r >> 11) / 9007199254740992.0;
        x[i] = (u - 0.5) * (double)(1u << (r >> 59)); /* scale 2^0 .. 2^31 */
    }
    double serial = reduce(NULL, x);
    static const int threads[] = {1, 2, 3, 8};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        is_int(qib_pool_new(threads[t], &p), QIB_OK, "pool of %d", threads[t]);
        is_int(qib_pool_threads(p), threads[t], "  %d threads", threads[t]);
        int same = 1;
        for (int rep = 0; rep < 5; rep++) {
            double s = reduce(p, x);
            same &= memcmp(&s, &serial, sizeof s) == 0;
        }
        ok(same, "  sum of 10^6 doubles: same bits as serial, 5 runs");
        test_visits(p, N, BS);
        test_visits(p, 1001, 10);
        test_visits(p, 5, 10);
        test_visits(p, 0, 10);
        qib_pool_free(&p);
    }
    double naive = 0;
    for (size_t i = N; i-- > 0;)
        naive += x[i];
    diag("block sum %.17g, reverse serial sum %.17g", serial, naive);
    test_visits(NULL, 1001, 10);

    qib_pool_new(4, &p);
    is_int(qib_parallel_for(p, 10, 0, count_block, NULL), QIB_EINVAL, "block_size 0 refused");
    is_int(qib_parallel_for(NULL, 10, 0, count_block, NULL), QIB_EINVAL,
           "block_size 0 refused, NULL pool");

    /* Many short loops in a row: no block lost between generations. */
    atomic_size_t count;
    atomic_init(&count, 0);
    for (int k = 0; k < 3000; k++)
        qib_parallel_for(p, 17, 2, count_block, &count);
    is_int((long long)atomic_load(&count), 3000 * 17, "3000 short loops: every item counted");

    /* A nested loop on the same pool runs serially instead of deadlocking. */
    nested_pool = p;
    atomic_init(&count, 0);
    qib_parallel_for(p, 100, 1, outer_block, &count);
    is_int((long long)atomic_load(&count), 100 * 10, "nested loops complete");

    /* Two threads sharing one pool take turns. */
    struct caller c1 = {.p = p}, c2 = {.p = p};
    atomic_init(&c1.count, 0);
    atomic_init(&c2.count, 0);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, concurrent_caller, &c1);
    pthread_create(&t2, NULL, concurrent_caller, &c2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    ok(atomic_load(&c1.count) == 200000 && atomic_load(&c2.count) == 200000,
       "two callers on one pool: both complete");
    qib_pool_free(&p);
    free(x);
    return tap_done();
}
