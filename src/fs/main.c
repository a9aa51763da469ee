/*
 * drukfs's entry point: parse the command line, check the service, mount,
 * and run libfuse's loop until unmounted or signalled.
 *
 * The service is checked before mounting (one GET /hosts, which also fills
 * the cache), so a rejected token or an unreachable service fails here
 * with a message and exit code 1 instead of mounting a dead filesystem.
 * Nothing starts a thread before fuse_daemonize() forks.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drukbox/drukbox.h>

#include "fs.h"
#include "fs_write.h"
#include "handshake.h"
#include "options.h"
#include "render_stats.h"

#define LOG_LINES 1000
#define MAX_THREADS 64

typedef struct drukfs_main {
	drukfs_options opts;
	drukfs_settings set;
	struct fuse_cmdline_opts cmd;
	drukbox_create_opts defaults;
	drukfs_fs fs;
	char *token;
	char *state_dir;
	int max_threads_given;  /* -o max_threads= was on the command line */
} drukfs_main;

static void cache_changed(void *arg, const char *id)
{
	drukfs_fs *fs = arg;

	if (fs->handles)
		drukfs_handles_host_changed(fs->handles, id);
	else
		drukfs_fs_changed(fs, id);
}

static int make_client(drukfs_main *m)
{
	drukbox_options base = { 0 };
	const drukbox_error *e;

	if (m->opts.token_file &&
	    drukbox_token_from_file(m->opts.token_file, &m->token) < 0) {
		fprintf(stderr, "drukfs: -o token_file=%s: %s\n",
			m->opts.token_file, drukbox_error_last()->detail);
		return -1;
	}
	base.url = m->opts.url;
	base.token = m->token;
	base.timeout = m->set.timeout;
	base.cafile = m->opts.cacert;
	if (drukbox_client_from_env(&m->fs.client, m->opts.env_prefix, &base) == 0)
		return 0;
	e = drukbox_error_last();
	fprintf(stderr, "drukfs: %s\n", e->detail);
	return -1;
}

/* The mount-time check; fills the cache with the list it fetched. */
static int check_service(drukfs_main *m)
{
	const drukbox_error *e;
	const char *url = drukbox_client_url(m->fs.client);
	int rc = drukfs_cache_prime(m->fs.cache);

	if (rc == 0)
		return 0;
	e = drukbox_error_last();
	if (e->code != (drukbox_err)-rc) {
		fprintf(stderr, "drukfs: %s: GET /hosts: %s\n", url,
			drukbox_err_name((drukbox_err)-rc));
		return -1;
	}
	switch (e->code) {
	case DRUKBOX_EAUTH:
		fprintf(stderr, "drukfs: %s refused the token: %s (HTTP %d)\n",
			url, e->detail, e->http_status);
		break;
	case DRUKBOX_ETRANSPORT:
	case DRUKBOX_ETIMEOUT:
		fprintf(stderr, "drukfs: cannot reach %s: %s\n", url, e->detail);
		break;
	default:
		fprintf(stderr, "drukfs: %s: GET /hosts failed: %s (%s, HTTP %d)\n",
			url, e->detail, drukbox_err_name(e->code), e->http_status);
	}
	return -1;
}

static int open_state(drukfs_main *m)
{
	const char *url = drukbox_client_url(m->fs.client);
	int rc = 0;

	if (m->opts.state_dir)
		m->state_dir = strdup(m->opts.state_dir);
	else
		rc = drukfs_state_default_dir(&m->state_dir, url);
	if (rc == 0 && !m->state_dir)
		rc = -ENOMEM;
	if (rc == 0)
		rc = drukfs_state_open(&m->fs.state, m->state_dir, url);
	if (rc < 0)
		fprintf(stderr, "drukfs: state directory %s: %s%s\n",
			m->state_dir ? m->state_dir : "(none)", strerror(-rc),
			rc == -EPERM ? " (it must be ours and mode 0700)" :
			rc == -EBUSY ? " (another drukfs uses it: give this mount "
				       "its own -o state_dir)" : "");
	return rc;
}

static void set_defaults(drukfs_main *m)
{
	drukbox_create_opts *d = &m->defaults;

	d->image = m->opts.image;
	d->provider = m->opts.provider;
	d->instance_type = m->opts.instance_type;
	d->disk_gb = m->set.disk_gb;
	d->env = m->set.env;
	d->env_count = m->set.env_count;
	d->expiry = m->set.lease < 0 ? DRUKBOX_EXPIRY_NEVER : DRUKBOX_EXPIRY_DEFAULT;
}

/* The create defaults must make a body the client accepts (env keys). */
static int check_defaults(drukfs_main *m)
{
	char *body = NULL;

	if (drukbox_create_body(&body, &m->defaults) == 0) {
		free(body);
		return 0;
	}
	fprintf(stderr, "drukfs: create defaults: %s\n",
		drukbox_error_last()->detail);
	return -1;
}

/* fsname=URL (commas escaped), subtype=drukfs, default_permissions: the
 * kernel enforces the modes (private_key 0600) even with allow_other. */
static int add_mount_opts(struct fuse_args *args, const char *url)
{
	char buf[2200] = "-osubtype=drukfs,default_permissions,fsname=";
	size_t n = strlen(buf);

	for (const char *p = url; *p && n + 3 < sizeof(buf); p++) {
		if (*p == ',' || *p == '\\')
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return fuse_opt_add_arg(args, buf);
}

static void *sighup_thread(void *arg)
{
	drukfs_fs *fs = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		drukfs_cache_drop(fs->cache);
		drukfs_log_add(fs->log, time(NULL), "caches dropped (SIGHUP)");
	}
	return NULL;
}

/* SIGHUP drops the caches instead of unmounting: block it everywhere
 * and take it in one thread. */
static int start_sighup(drukfs_fs *fs)
{
	sigset_t set;
	pthread_t t;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, sighup_thread, fs) != 0)
		return -1;
	pthread_detach(t);
	return 0;
}

/* Tells systemd (Type=notify) that the mount is up, when started by it.
 * The protocol is one datagram to $NOTIFY_SOCKET; done by hand so that
 * drukfs needs no libsystemd. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

static int run_loop(drukfs_main *m)
{
	struct fuse_loop_config *cfg;
	int rc;

	if (m->cmd.singlethread)
		return fuse_session_loop(m->fs.se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)m->cmd.clone_fd);
	if (m->cmd.max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(cfg, m->cmd.max_idle_threads);
	fuse_loop_cfg_set_max_threads(cfg, m->max_threads_given ?
						   m->cmd.max_threads : MAX_THREADS);
	rc = fuse_session_loop_mt(m->fs.se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}

static int start_fs(drukfs_main *m)
{
	drukfs_cache_opts co = {
		.ttl = m->set.cache_ttl,
		.doctor_ttl = m->set.doctor_ttl,
		.timeout = m->set.timeout > 0 ? m->set.timeout : 300,
		.grace = 1.0,
		.changed = cache_changed,
		.changed_ctx = &m->fs,
	};
	drukfs_fs *fs = &m->fs;

	fs->url = drukbox_client_url(fs->client);
	fs->uid = getuid();
	fs->gid = getgid();
	fs->ttl = m->set.cache_ttl;
	fs->started = time(NULL);
	fs->ssh.suffix = m->set.ssh_suffix;
	fs->ssh.address = (drukfs_ssh_address)m->set.ssh_address;
	fs->ssh.mountpoint = m->cmd.mountpoint;
	pthread_mutex_init(&fs->slock, NULL);
	fs->single_thread = m->cmd.singlethread;
	fs->counts = calloc(1, sizeof(*fs->counts));
	fs->tree = drukfs_tree_new();
	fs->log = drukfs_log_new(LOG_LINES, m->cmd.foreground);
	if (!fs->tree || !fs->log || !fs->counts)
		return -ENOMEM;
	if (drukfs_cache_new(&fs->cache, fs->client, fs->log, &co) < 0)
		return -ENOMEM;
	return 0;
}

static int start_handles(drukfs_main *m)
{
	drukfs_handles_opts ho = {
		.mkdir_wait = m->set.mkdir_wait,
		.wait_poll = m->set.wait_poll,
		.defaults = &m->defaults,
		.lease = m->set.lease > 0 ? m->set.lease : 0,
		.changed = drukfs_fs_changed,
		.changed_ctx = &m->fs,
	};
	int rc = drukfs_fs_notifier_start(&m->fs);

	if (rc == 0)
		rc = drukfs_handles_new(&m->fs.handles, m->fs.client, m->fs.cache,
					m->fs.state, m->fs.log, &ho);
	if (rc < 0)
		fprintf(stderr, "drukfs: cannot start: %s\n", strerror(-rc));
	return rc;
}

static int serve(drukfs_main *m, struct fuse_args *args)
{
	drukfs_fs *fs = &m->fs;
	int rc = 1, parallel = 0;

	if (add_mount_opts(args, fs->url) < 0)
		return 1;
	fs->se = fuse_session_new(args, &drukfs_ops, sizeof(drukfs_ops), fs);
	if (!fs->se)
		return 1;
	if (fuse_set_signal_handlers(fs->se) != 0)
		goto out_session;
	if (fuse_session_mount(fs->se, m->cmd.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(m->cmd.foreground);
	/* Before any thread that writes to /dev/fuse starts. */
	if (drukfs_handshake(fs->se, &parallel) < 0)
		goto out_unmount;
	if (start_sighup(fs) < 0 || start_handles(m) < 0)
		goto out_unmount;
	if (!parallel)
		drukfs_log_add(fs->log, time(NULL), "lookups in one directory "
			       "are serialised: the kernel did not offer "
			       "parallel directory operations");
	drukfs_log_add(fs->log, time(NULL), "mounted %s on %s", fs->url,
		       m->cmd.mountpoint);
	notify_ready();
	/* The loop returns the number of a signal that ended it (SIGTERM,
	 * SIGINT): a clean unmount, not a failure. */
	rc = run_loop(m) < 0 ? 1 : 0;
out_unmount:
	/* The notifier and the create workers' and poller's answers to
	 * blocked waits write to the session's /dev/fuse descriptor, which
	 * the unmount closes (and a later open may reuse), and the session is
	 * freed after it: stop them first. */
	if (fs->handles)
		drukfs_handles_stop_replies(fs->handles);
	drukfs_fs_notifier_stop(fs);
	fuse_session_unmount(fs->se);
out_signals:
	fuse_remove_signal_handlers(fs->se);
out_session:
	drukfs_fs_notifier_stop(fs);
	fuse_session_destroy(fs->se);
	return rc;
}

static void cleanup(drukfs_main *m)
{
	/* Workers still talking to the service hold the client and the
	 * cache: leave those to the process exit (their work is safe in the
	 * state directory). */
	if (m->fs.handles && drukfs_handles_busy(m->fs.handles))
		return;
	drukfs_handles_free(m->fs.handles);
	drukfs_cache_free(m->fs.cache);
	drukbox_client_free(m->fs.client);
	drukfs_state_free(m->fs.state);
	drukfs_log_free(m->fs.log);
	drukfs_tree_free(m->fs.tree);
	strmap_clear(&m->fs.ssh_logged);
	strmap_clear(&m->fs.negatives);
	drukfs_spec_undo_clear(&m->fs);
	free(m->fs.counts);
	drukfs_settings_free(&m->set);
	drukfs_options_free(&m->opts);
	free(m->cmd.mountpoint);
	free(m->state_dir);
	if (m->token) {
		explicit_bzero(m->token, strlen(m->token));
		free(m->token);
	}
	drukbox_global_cleanup();
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	/* Static: what cleanup() leaves to create and delete workers still in
	 * flight at exit stays reachable (and is not reported as leaked). */
	static drukfs_main m;
	int rc = 1;

	/* libfuse runs up to 64 worker threads; an arena each would keep the
	 * memory of every list parse alive (measured: 75 MB settled at 10 000
	 * hosts, 41 MB with two arenas and a trim after each refresh). */
	mallopt(M_ARENA_MAX, 2);
	for (int i = 1; i < argc; i++)
		if (strstr(argv[i], "max_threads="))
			m.max_threads_given = 1;
	if (drukfs_options_parse(&args, &m.opts) < 0)
		goto out;
	if (m.opts.show_version) {
		printf("drukfs %s (libdrukbox %s)\n", DRUKBOX_VERSION,
		       DRUKBOX_VERSION);
		fflush(stdout); /* before fusermount3 --version writes to fd 1 */
		fuse_lowlevel_version();
		rc = 0;
		goto out;
	}
	if (fuse_parse_cmdline(&args, &m.cmd) != 0)
		goto out;
	if (m.cmd.show_help || m.opts.show_help) {
		drukfs_usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		rc = 0;
		goto out;
	}
	if (!m.cmd.mountpoint) {
		fprintf(stderr, "drukfs: no mountpoint given (see drukfs --help)\n");
		goto out;
	}
	if (drukfs_settings_from(&m.set, &m.opts) < 0 ||
	    drukbox_global_init() < 0 || make_client(&m) < 0)
		goto out;
	set_defaults(&m);
	if (check_defaults(&m) < 0 || open_state(&m) < 0 || start_fs(&m) < 0 ||
	    check_service(&m) < 0)
		goto out;
	rc = serve(&m, &args);
out:
	fuse_opt_free_args(&args);
	cleanup(&m);
	return rc;
}
