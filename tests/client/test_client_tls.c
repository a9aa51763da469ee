/*
 * test_client_tls.c — libdrukbox over HTTPS against drukbox-local started
 * with the throwaway self-signed certificate in tests/client/ (valid for
 * 127.0.0.1 until 2126; its key protects nothing).
 *
 * Verification is on by default, so the self-signed server must be refused
 * until the client is given the certificate as `cafile`, or told
 * `insecure`.
 */
#include <drukbox/drukbox.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "server.h"

static local_server srv;
static char cert[1024], key[1024];

static int suite_setup(void)
{
	const char *dir = getenv("DRUKBOX_TEST_DATA");
	const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };

	if (!dir || drukbox_global_init() != 0)
		return 1;
	snprintf(cert, sizeof(cert), "%s/tls-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/tls-key.pem", dir);
	return local_start(&srv, args) == 0 ? 0 : 1;
}

static int suite_teardown(void)
{
	local_stop(&srv);
	drukbox_global_cleanup();
	return 0;
}

/* A client for url with the given TLS settings. */
static drukbox_client *client_tls(const char *url, const char *cafile,
				  bool insecure)
{
	drukbox_options o = { .url = url, .token = LOCAL_TOKEN, .timeout = 10,
			      .cafile = cafile, .insecure = insecure };
	drukbox_client *c = NULL;

	CU_ASSERT_EQUAL(drukbox_client_new(&c, &o), 0);
	return c;
}

static void test_https_url(void)
{
	CU_ASSERT(strncmp(srv.url, "https://127.0.0.1:", 18) == 0);
}

/* The system store does not know the test certificate. */
static void test_self_signed_refused(void)
{
	drukbox_client *c = client_tls(srv.url, NULL, false);
	drukbox_host_list *list = NULL;

	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), -DRUKBOX_ETRANSPORT);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_EQUAL(drukbox_error_last()->http_status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
				      "127.0.0.1"));
	CU_ASSERT_EQUAL(drukbox_healthz(c), -DRUKBOX_ETRANSPORT);
	drukbox_client_free(c);
}

static void test_cafile_trusted(void)
{
	drukbox_client *c = client_tls(srv.url, cert, false);
	drukbox_host_list *list = NULL;

	CU_ASSERT_EQUAL(drukbox_healthz(c), 0);
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_PTR_NOT_NULL(list);
	drukbox_host_list_free(list);
	drukbox_client_free(c);
}

/* The certificate names 127.0.0.1, not this host name: verification of
 * the name is on too. */
static void test_cafile_wrong_name(void)
{
	char url[600];
	drukbox_client *c;

	snprintf(url, sizeof(url), "https://127.0.0.2:%d", srv.port);
	c = client_tls(url, cert, false);
	CU_ASSERT_EQUAL(drukbox_healthz(c), -DRUKBOX_ETRANSPORT);
	drukbox_client_free(c);
}

static void test_insecure(void)
{
	drukbox_client *c = client_tls(srv.url, NULL, true);

	CU_ASSERT_EQUAL(drukbox_healthz(c), 0);
	drukbox_client_free(c);
}

static void test_missing_cafile(void)
{
	drukbox_client *c = client_tls(srv.url, "/nonexistent/ca.pem", false);

	CU_ASSERT_EQUAL(drukbox_healthz(c), -DRUKBOX_ETRANSPORT);
	drukbox_client_free(c);
}

/* Plain HTTP to a TLS port gets no usable response. */
static void test_http_to_https_port(void)
{
	char url[600];
	drukbox_client *c;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
	c = client_tls(url, NULL, false);
	CU_ASSERT(drukbox_healthz(c) < 0);
	CU_ASSERT_EQUAL(drukbox_error_last()->http_status, 0);
	drukbox_client_free(c);
}

static const drukbox_test tests[] = {
	{ "server speaks https", test_https_url },
	{ "self-signed refused by default", test_self_signed_refused },
	{ "cafile trusted", test_cafile_trusted },
	{ "host name verified", test_cafile_wrong_name },
	{ "insecure", test_insecure },
	{ "missing cafile", test_missing_cafile },
	{ "plain http to the https port", test_http_to_https_port },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "tls", suite_setup, suite_teardown, tests },
};

DRUKBOX_TEST_MAIN(suites)
