/*
 * replay: a fuzz target as a plain program, for the test suite.
 *
 *   <target>_replay PATH... [--optional PATH...]
 *
 * Each PATH is an input file or a directory of them (files whose names
 * start with '.' are skipped), taken in name order.  A PATH after
 * --optional may be missing (crashes/<target>/ exists only once a crash
 * has been kept), so that adding one needs no reconfigure.  Every input runs in
 * a child process of its own, so that one that aborts, trips a sanitizer,
 * leaks (LeakSanitizer runs as the child exits) or hangs for more than
 * REPLAY_TIMEOUT seconds is counted as failed and the rest still run.
 * Prints one line per input and ends with "N passed, N failed"; exits 1
 * when an input failed, a path could not be read, or there was no input.
 *
 * FUZZ_REPLAY_NOFORK=1 runs the inputs in this process instead (to use a
 * debugger); the first failure then ends the program.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLAY_TIMEOUT 60

typedef struct tally {
	unsigned passed;
	unsigned failed;
	int fork;
} tally;

/* Reads a whole file into an exactly sized buffer, so that the sanitizers
 * see a read past the input's end.  0, or -errno. */
static int read_input(const char *path, uint8_t **out, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int rc = 0;

	*out = NULL;
	*size = 0;
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		rc = -errno;
		goto out;
	}
	buf = malloc(n ? (size_t)n : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		rc = -EIO;
		goto out;
	}
	*out = buf;
	*size = (size_t)n;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* Runs the target on one input in this process.  Exits on failure. */
static void run_here(const char *path)
{
	uint8_t *data;
	size_t size;
	int rc = read_input(path, &data, &size);

	if (rc < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-rc));
		exit(2);
	}
	LLVMFuzzerTestOneInput(data, size);
	free(data);
}

/* Runs one input in a child (or here) and counts the outcome. */
static void run_one(tally *t, const char *path)
{
	pid_t pid;
	int status = 0;

	fflush(NULL);
	if (!t->fork) {
		run_here(path);
		printf("ok   %s\n", path);
		t->passed++;
		return;
	}
	pid = fork();
	if (pid == 0) {
		alarm(REPLAY_TIMEOUT);
		run_here(path);
		exit(0); /* not _exit: LeakSanitizer runs at exit */
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		printf("FAIL %s: cannot run a child: %s\n", path,
		       strerror(errno));
		t->failed++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok   %s\n", path);
		t->passed++;
	} else if (WIFSIGNALED(status)) {
		printf("FAIL %s: killed by signal %d (%s)\n", path,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
		t->failed++;
	} else {
		printf("FAIL %s: exit status %d\n", path, WEXITSTATUS(status));
		t->failed++;
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every input of a directory, in name order.  0, or -1 after saying why
 * the directory could not be read. */
static int run_dir(tally *t, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!d) {
		printf("FAIL %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t size = strlen(dir) + strlen(e->d_name) + 2;
		char **grown;

		if (e->d_name[0] == '.')
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = malloc(size))) {
			names = grown ? grown : names;
			rc = -1;
			printf("FAIL %s: out of memory\n", dir);
			break;
		}
		names = grown;
		snprintf(names[n], size, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			run_one(t, names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	tally t = { 0, 0, 1 };
	const char *nofork = getenv("FUZZ_REPLAY_NOFORK");
	int broken = 0, optional = 0;

	t.fork = !(nofork && strcmp(nofork, "1") == 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH... [--optional PATH...]\n",
			argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (strcmp(argv[i], "--optional") == 0) {
			optional = 1;
		} else if (stat(argv[i], &st) != 0) {
			if (optional && errno == ENOENT)
				continue;
			printf("FAIL %s: %s\n", argv[i], strerror(errno));
			broken = 1;
		} else if (S_ISDIR(st.st_mode)) {
			broken |= run_dir(&t, argv[i]) < 0;
		} else {
			run_one(&t, argv[i]);
		}
	}
	printf("%u passed, %u failed\n", t.passed, t.failed);
	return broken || t.failed || !t.passed ? 1 : 0;
}
