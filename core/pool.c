/* The thread pool behind qib_parallel_for.  Work is cut into fixed blocks
 * whatever the thread count, so a per-block reduction combined in block order
 * gives the same bits on any machine.  Workers sleep on a condition variable
 * between loops; blocks are claimed from an atomic counter, and the calling
 * thread claims blocks too. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "qib/pool.h"
#include "qib/status.h"

/* More threads than this is a mistake in a parameter, not a machine. */
#define MAX_THREADS 1024

struct qib_pool {
    int nthreads;     /* threads that run blocks, the caller included */
    int nworkers;     /* nthreads - 1 */
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers: a new loop or stop */
    pthread_cond_t done; /* caller: the last worker left the loop */
    pthread_mutex_t run_mu; /* one loop at a time per pool */
    unsigned long generation; /* counts loops; a worker runs each once */
    int stop;
    int busy; /* workers still inside the current loop */
    /* The current loop, written under mu before generation changes. */
    qib_block_fn fn;
    void *arg;
    size_t n, block_size, nblocks;
    atomic_size_t next; /* next unclaimed block */
};

/* The pool whose blocks this thread is running: a nested qib_parallel_for
 * on it runs serially instead of deadlocking. */
static _Thread_local const qib_pool *running_in;

size_t qib_nblocks(size_t n, size_t block_size)
{
    if (block_size == 0)
        return 0;
    return n / block_size + (n % block_size != 0);
}

static void run_blocks(qib_pool *p, qib_block_fn fn, void *arg, size_t n, size_t bs,
                       size_t nblocks)
{
    const qib_pool *outer = running_in;
    running_in = p;
    for (;;) {
        size_t b = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (b >= nblocks)
            break;
        size_t begin = b * bs;
        size_t end = n - begin < bs ? n : begin + bs;
        fn(arg, b, begin, end);
    }
    running_in = outer;
}

static void *worker(void *vp)
{
    qib_pool *p = vp;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->generation;
        qib_block_fn fn = p->fn;
        void *arg = p->arg;
        size_t n = p->n, bs = p->block_size, nb = p->nblocks;
        pthread_mutex_unlock(&p->mu);
        run_blocks(p, fn, arg, n, bs, nb);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Stop and join the first @p started workers. */
static void stop_workers(qib_pool *p, int started)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < started; i++)
        pthread_join(p->tid[i], NULL);
}

int qib_pool_new(int nthreads, qib_pool **out)
{
    if (!out || nthreads < 0 || nthreads > MAX_THREADS)
        return QIB_EINVAL;
    if (nthreads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    }
    qib_pool *p = calloc(1, sizeof *p);
    if (!p)
        return QIB_ENOMEM;
    p->nthreads = nthreads;
    p->nworkers = nthreads - 1;
    atomic_init(&p->next, 0);
    if (p->nworkers > 0) {
        p->tid = calloc((size_t)p->nworkers, sizeof *p->tid);
        if (!p->tid) {
            free(p);
            return QIB_ENOMEM;
        }
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->tid);
        free(p);
        return QIB_ENOMEM;
    }
    if (pthread_mutex_init(&p->run_mu, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p->tid);
        free(p);
        return QIB_ENOMEM;
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->run_mu);
        pthread_mutex_destroy(&p->mu);
        free(p->tid);
        free(p);
        return QIB_ENOMEM;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->run_mu);
        pthread_mutex_destroy(&p->mu);
        free(p->tid);
        free(p);
        return QIB_ENOMEM;
    }
    /* Workers block every signal, so that SIGINT and friends reach the
     * thread that started the run and can handle them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int started = 0;
    for (; started < p->nworkers; started++)
        if (pthread_create(&p->tid[started], NULL, worker, p) != 0)
            break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started < p->nworkers) {
        p->nworkers = started;
        qib_pool_free(&p);
        return QIB_EIO;
    }
    *out = p;
    return QIB_OK;
}

void qib_pool_free(qib_pool **pp)
{
    if (!pp || !*pp)
        return;
    qib_pool *p = *pp;
    *pp = NULL;
    stop_workers(p, p->nworkers);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->run_mu);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}

int qib_pool_threads(const qib_pool *p)
{
    return p ? p->nthreads : 1;
}

int qib_parallel_for(qib_pool *p, size_t n, size_t block_size, qib_block_fn fn, void *arg)
{
    if (block_size == 0 || !fn)
        return QIB_EINVAL;
    size_t nb = qib_nblocks(n, block_size);
    if (!p || p->nworkers == 0 || nb <= 1 || running_in == p) {
        for (size_t b = 0; b < nb; b++) {
            size_t begin = b * block_size;
            size_t end = n - begin < block_size ? n : begin + block_size;
            fn(arg, b, begin, end);
        }
        return QIB_OK;
    }
    /* Loops from different threads on one pool take turns. */
    pthread_mutex_lock(&p->run_mu);
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->block_size = block_size;
    p->nblocks = nb;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->busy = p->nworkers;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_blocks(p, fn, arg, n, block_size, nb);

    /* Every worker must leave this loop before the next one may reset the
     * counter: wait for all of them, not just for the blocks. */
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run_mu);
    return QIB_OK;
}
