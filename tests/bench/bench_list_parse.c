/*
 * bench_list_parse — how long drukbox_host_list_parse() takes on a real
 * GET /hosts body, and how much heap it needs.  Not a test: it prints
 * numbers and judges nothing.
 *
 *   bench_list_parse BODY.json [RUNS]      (RUNS default 20)
 *
 * Get a body with `scripts/drukbox-local --seed 10000` and curl (see
 * docs/benchmarks.md).  The program uses only the public API, so the same
 * source can be built against an older libdrukbox to compare.
 *
 * Heap is counted by wrapping malloc and friends in this executable (they
 * interpose on glibc's for the whole process, json-c included) and adding
 * up malloc_usable_size(): the live bytes before the parse, the peak
 * during it and what the records keep afterwards, all beyond the body
 * itself.  For comparison it also prints a memchr pass over the body (the
 * least any reader has to do) and the process's peak RSS.
 */
#define _GNU_SOURCE
#include <drukbox/drukbox.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static size_t live, peak;

static void count_in(void *p)
{
	if (p) {
		live += malloc_usable_size(p);
		if (live > peak)
			peak = live;
	}
}

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);

	count_in(p);
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	count_in(p);
	return p;
}

void *realloc(void *p, size_t n)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q = __libc_realloc(p, n);

	if (q || n == 0)
		live -= old;
	count_in(q);
	return q;
}

void free(void *p)
{
	if (p)
		live -= malloc_usable_size(p);
	__libc_free(p);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The whole file, NUL-terminated; exits on failure. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		perror(path);
		exit(1);
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* kB value of `key` in /proc/self/status, or -1. */
static long proc_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and minimum of n timings (sorts them). */
static void summarise(double *t, int n, double *median, double *min)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	*median = t[n / 2];
	*min = t[0];
}

/* Times a memchr pass for '"' over the body: a floor for any reader. */
static double memchr_ms(const char *body, size_t len)
{
	double start = now_ms();
	size_t quotes = 0;

	for (const char *p = body, *end = body + len;
	     (p = memchr(p, '"', (size_t)(end - p))); p++)
		quotes++;
	if (quotes == (size_t)-1)
		puts("impossible");
	return now_ms() - start;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	size_t len, base, retained = 0, count = 0, skipped = 0;
	double *times, *scans, median, min, scan_median, scan_min;
	char *body;

	if (argc < 2 || runs < 1) {
		fprintf(stderr, "usage: %s BODY.json [RUNS]\n", argv[0]);
		return 2;
	}
	body = slurp(argv[1], &len);
	times = calloc((size_t)runs, sizeof(*times));
	scans = calloc((size_t)runs, sizeof(*scans));
	base = live;
	peak = live;
	for (int i = 0; i < runs; i++) {
		drukbox_host_list *list = NULL;
		double start = now_ms();

		if (drukbox_host_list_parse(&list, body, len) < 0) {
			fprintf(stderr, "parse failed: %s\n",
				drukbox_error_last()->detail);
			return 1;
		}
		times[i] = now_ms() - start;
		retained = live - base;
		count = list->count;
		skipped = list->skipped;
		drukbox_host_list_free(list);
		scans[i] = memchr_ms(body, len);
	}
	summarise(times, runs, &median, &min);
	summarise(scans, runs, &scan_median, &scan_min);
	printf("body            %zu bytes, %zu hosts (%zu skipped)\n", len,
	       count, skipped);
	printf("parse           median %.2f ms, min %.2f ms (%d runs)\n",
	       median, min, runs);
	printf("memchr pass     median %.2f ms, min %.2f ms\n", scan_median,
	       scan_min);
	printf("peak heap       %zu bytes beyond the body (%.2fx the body)\n",
	       peak - base, (double)(peak - base) / (double)len);
	printf("records keep    %zu bytes (%.2fx the body, %zu per host)\n",
	       retained, (double)retained / (double)len,
	       count ? retained / count : 0);
	printf("peak RSS        %ld kB (VmHWM)\n", proc_kb("VmHWM:"));
	return 0;
}
