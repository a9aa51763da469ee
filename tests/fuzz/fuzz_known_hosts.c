/*
 * fuzz_known_hosts: the input is a host's raw known_hosts text.
 *
 * The whole input goes through drukfs_known_hosts_filter().  Then its
 * slices go through the allowlists: every line, and every word of every
 * line (split at blanks and commas, as known_hosts is).  Finally the first
 * lines stand in for the values of a Host block (host, user, name,
 * internal host, handle, suffix, mount point; a missing line leaves a
 * plain default) so that every allowlist is also tried where it counts,
 * in drukfs_ssh_block().
 */
#include "fuzz.h"
#include "ssh.h"

#include <stdlib.h>
#include <string.h>

/* Lines of the input that stand in for the Host block's values. */
enum { V_HOST, V_USER, V_NAME, V_INTERNAL, V_HANDLE, V_SUFFIX, V_MOUNT,
       V_COUNT };

static void check_words(char *line)
{
	char *save = NULL;

	fuzz_allowlists(line);
	for (char *w = strtok_r(line, " \t,", &save); w;
	     w = strtok_r(NULL, " \t,", &save))
		fuzz_allowlists(w);
}

static void check_block(char *const values[V_COUNT], size_t size)
{
	drukbox_host h = { 0 };
	drukfs_ssh_opts o = { values[V_SUFFIX], SSH_ADDRESS_AUTO,
			      values[V_MOUNT] };

	h.id = (char *)"0190f3c1-3f5e-7d4c-9a77-1b2c3d4e5f60";
	h.status = (char *)"active";
	h.external_ssh_host = values[V_HOST];
	h.ssh_username = values[V_USER];
	h.name = values[V_NAME];
	h.internal_ssh_host = values[V_INTERNAL];
	/* ports outside 1-65535 too: the block must refuse them */
	h.external_ssh_port = (int)(size % 70000) - 2;
	fuzz_ssh_blocks(&h, values[V_HANDLE], &o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *copy = fuzz_cstr(data, size);
	char *values[V_COUNT] = {
		(char *)"203.0.113.7", (char *)"root", (char *)"sb-0a1b2c3d4e5f",
		NULL, (char *)"web-1", (char *)".drukbox", (char *)"/mnt/druk%box",
	};
	char *p = copy;
	size_t n = 0;

	fuzz_known_hosts(text);
	/* cut the copy into lines, in place */
	while (p && *p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		if (n < V_COUNT)
			values[n] = p;
		n++;
		p = nl ? nl + 1 : NULL;
	}
	check_block(values, size);
	/* the words last: strtok_r cuts the lines it reads */
	p = text;
	while (p && *p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		check_words(p);
		p = nl ? nl + 1 : NULL;
	}
	free(copy);
	free(text);
	return 0;
}
