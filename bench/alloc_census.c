// An allocation census for bench/idle_rss.py --census: loaded into pierd with LD_PRELOAD, it
// counts the heap blocks alive at any moment by their usable size (malloc_usable_size), and
// writes the counts to the file named by ALLOC_CENSUS_OUT each time the file named by
// ALLOC_CENSUS_TRIGGER appears (it deletes the trigger once written). Two censuses, before and
// after opening N connections, give what each connection holds: every block, with its size.
//
// Counting by usable size needs no table of pointers: free() asks the block its size too.
// The counters are relaxed atomics, so the census is exact once the process is quiet (the
// idle connections' case) and approximate while it allocates.
//
// Wraps glibc's malloc family through its __libc_* entry points (C++'s operator new calls
// malloc). Build: gcc -O2 -shared -fPIC bench/alloc_census.c -o alloc_census.so -lpthread
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* block, size_t size);
extern void* __libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void* block);

// Usable sizes are multiples of 16 from 24 up on x86-64 glibc: one counter per 16 bytes up to
// 64 KiB, and one for everything larger (counted in blocks and bytes).
enum { granule = 16, classes = 65536 / granule };
static atomic_long live_blocks[classes + 1];
static atomic_long large_bytes;

static void count(void* block, long sign) {
    if (block == NULL) return;
    const size_t usable = malloc_usable_size(block);
    const size_t index = usable / granule < classes ? usable / granule : classes;
    atomic_fetch_add_explicit(&live_blocks[index], sign, memory_order_relaxed);
    if (index == classes) {
        atomic_fetch_add_explicit(&large_bytes, sign * (long)usable, memory_order_relaxed);
    }
}

void* malloc(size_t size) {
    void* block = __libc_malloc(size);
    count(block, 1);
    return block;
}

void* calloc(size_t count_of, size_t size) {
    void* block = __libc_calloc(count_of, size);
    count(block, 1);
    return block;
}

void* realloc(void* block, size_t size) {
    count(block, -1);
    void* moved = __libc_realloc(block, size);
    // On failure the old block is still there (and was uncounted): count it again.
    count(moved != NULL || size == 0 ? moved : block, 1);
    return moved;
}

void free(void* block) {
    count(block, -1);
    __libc_free(block);
}

void* memalign(size_t alignment, size_t size) {
    void* block = __libc_memalign(alignment, size);
    count(block, 1);
    return block;
}

void* aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }

int posix_memalign(void** out, size_t alignment, size_t size) {
    void* block = memalign(alignment, size);
    if (block == NULL) return ENOMEM;
    *out = block;
    return 0;
}

/// One line per size class with live blocks: "<usable bytes> <blocks>"; then "large <blocks>
/// <bytes>". Written with stdio on a plain buffer: this thread's own allocations are counted
/// like any other and are the same in every census.
static void write_census(const char* path) {
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.tmp", path);
    FILE* out = fopen(temporary, "w");
    if (out == NULL) return;
    for (size_t i = 0; i < classes; ++i) {
        const long n = atomic_load_explicit(&live_blocks[i], memory_order_relaxed);
        if (n != 0) fprintf(out, "%zu %ld\n", i * granule, n);
    }
    fprintf(out, "large %ld %ld\n", atomic_load_explicit(&live_blocks[classes], memory_order_relaxed),
            atomic_load_explicit(&large_bytes, memory_order_relaxed));
    fclose(out);
    rename(temporary, path);  // the reader sees a whole census or none
}

static void* watch_trigger(void* unused) {
    (void)unused;
    const char* trigger = getenv("ALLOC_CENSUS_TRIGGER");
    const char* out = getenv("ALLOC_CENSUS_OUT");
    const struct timespec pause = {0, 20 * 1000 * 1000};  // 20 ms: a census on request
    for (;;) {
        if (access(trigger, F_OK) == 0) {
            write_census(out);
            unlink(trigger);
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

__attribute__((constructor)) static void start_census(void) {
    if (getenv("ALLOC_CENSUS_TRIGGER") == NULL || getenv("ALLOC_CENSUS_OUT") == NULL) return;
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_create(&thread, &attributes, watch_trigger, NULL);
    pthread_attr_destroy(&attributes);
}
