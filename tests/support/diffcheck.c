/*
 * diffcheck.c — see diffcheck.h.
 */
#define _GNU_SOURCE /* memmem */
#include "diffcheck.h"

#include <drukbox/drukbox.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_rfc.h"
#include "oracle.h"

static __thread char why[2048];

__attribute__((format(printf, 1, 2)))
static const char *differ(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return why;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

#define STRING_FIELDS 17

/* The string fields of h, listed by hand rather than through the
 * library's key table, which is under test. */
static void strings_of(const drukbox_host *h, const char *out[STRING_FIELDS])
{
	const char *const s[STRING_FIELDS] = {
		h->id, h->name, h->status, h->provider, h->image,
		h->instance_type, h->external_ssh_host, h->ssh_username,
		h->internal_ssh_host, h->known_hosts, h->tailscale_device_id,
		h->private_key, h->last_error, h->created_at, h->updated_at,
		h->activated_at, h->expires_at,
	};

	memcpy(out, s, sizeof(s));
}

/* The first field where the oracle's record and the library's differ,
 * or NULL. */
static const char *field_difference(const drukbox_host *o,
				    const drukbox_host *n)
{
	const char *os[STRING_FIELDS], *ns[STRING_FIELDS];

	strings_of(o, os);
	strings_of(n, ns);
	for (size_t i = 0; i < STRING_FIELDS; i++)
		if (!same(os[i], ns[i]))
			return "a string field";
	if (o->has_disk_gb != n->has_disk_gb ||
	    (o->has_disk_gb && o->disk_gb != n->disk_gb))
		return "disk_gb";
	if (o->external_ssh_port != n->external_ssh_port ||
	    o->has_external_ssh_port != n->has_external_ssh_port)
		return "external_ssh_port";
	return NULL;
}

/* NULL when the records agree, host.json included. */
static const char *host_difference(const oracle_host *o, const drukbox_host *n)
{
	const char *field = field_difference(&o->host, n);
	char *json = NULL;
	size_t len = 0;
	int rc;

	if (field)
		return differ("record %s: %s differs", o->host.id, field);
	rc = drukbox_host_json(&json, &len, n);
	if (rc)
		return differ("record %s: drukbox_host_json failed (%d)",
			      o->host.id, rc);
	if (strcmp(json, o->json) != 0 || len != strlen(json)) {
		differ("record %s: host.json differs:\n%s\n--- oracle:\n%s",
		       o->host.id, json, o->json);
		free(json);
		return why;
	}
	free(json);
	return NULL;
}

/* The documented difference: json-c clamped a disk_gb beyond int64_t. */
static bool clamped_disk(const oracle_host *o)
{
	return o->host.has_disk_gb &&
	       (o->host.disk_gb == INT64_MIN || o->host.disk_gb == INT64_MAX);
}

/* Whether the library's reason `n` for leaving a record out and the
 * oracle's `o` are the same, or the documented difference hides the
 * oracle's: a disk_gb beyond int64_t (the library's "not an integer",
 * checked before the port) where json-c clamped it and went on to find
 * the port wrong. */
static bool same_reason(const char *n, size_t nlen, const char *o,
			size_t olen)
{
	static const char disk[] = "\"disk_gb\" is not an integer";
	static const char port[] = "\"external_ssh_port\" is";
	const char *nf = memmem(n, nlen, "field \"", 7);
	const char *of = memmem(o, olen, "field \"", 7);

	if (nlen == olen && memcmp(n, o, nlen) == 0)
		return true;
	return nf && of && nf - n == of - o && memcmp(n, o, (size_t)(nf - n)) == 0 &&
	       memmem(nf, nlen - (size_t)(nf - n), disk, sizeof(disk) - 1) &&
	       memmem(of, olen - (size_t)(of - o), port, sizeof(port) - 1);
}

/* skipped_detail, line by line, by same_reason(). */
static bool same_details(const char *n, const char *o)
{
	if (!n || !o)
		return n == o;
	while (*n && *o) {
		size_t nl = strcspn(n, "\n"), ol = strcspn(o, "\n");

		if (!same_reason(n, nl, o, ol))
			return false;
		n += nl + (n[nl] == '\n');
		o += ol + (o[ol] == '\n');
	}
	return !*n && !*o;
}

static const char *compare_lists(const oracle_list *o,
				 const drukbox_host_list *n)
{
	size_t j = 0, clamped = 0;
	const char *d;

	for (size_t i = 0; i < o->count; i++) {
		d = j < n->count ? host_difference(o->hosts[i], n->hosts[j])
				 : "the library has fewer records";
		if (!d) {
			j++;
		} else if (clamped_disk(o->hosts[i])) {
			clamped++;
		} else {
			return differ("oracle record #%zu: %s", i, d);
		}
	}
	if (j != n->count)
		return differ("the library has %zu records, %zu more than the "
			      "oracle", n->count, n->count - j);
	if (n->skipped != o->skipped + clamped)
		return differ("skipped %zu, oracle %zu (%zu clamped)",
			      n->skipped, o->skipped, clamped);
	if (!clamped && !same_details(n->skipped_detail, o->skipped_detail))
		return differ("skipped_detail:\n%s--- oracle:\n%s",
			      n->skipped_detail ? n->skipped_detail : "(none)\n",
			      o->skipped_detail ? o->skipped_detail : "(none)\n");
	return NULL;
}

/* The library's answer when the text is not RFC 8259 JSON. */
static const char *must_refuse(int rc, const char *what)
{
	if (rc == -DRUKBOX_EPROTOCOL)
		return NULL;
	return differ("%s: the library gave %d for a text that is not "
		      "RFC 8259 JSON", what, rc);
}

const char *diff_list(const char *text, size_t len)
{
	drukbox_host_list *n = NULL;
	oracle_list *o = NULL;
	int nrc = drukbox_host_list_parse(&n, text, len);
	int orc = oracle_list_parse(&o, text, len);
	const char *d = NULL;

	if (nrc == -DRUKBOX_ENOMEM || orc == -DRUKBOX_ENOMEM)
		d = NULL;
	else if (!rfc_json_valid(text, len))
		d = must_refuse(nrc, "list");
	else if (!nrc != !orc)
		d = differ("list: library %d (%s), oracle %d (%s)", nrc,
			   drukbox_error_last()->detail, orc, oracle_error());
	else if (!nrc)
		d = compare_lists(o, n);
	drukbox_host_list_free(n);
	oracle_list_free(o);
	return d;
}

/* A reason that is the record's own, not the text's. */
static bool record_reason(const char *detail)
{
	return strncmp(detail, "host record: field", 18) == 0 ||
	       strcmp(detail, "host record is not a JSON object") == 0;
}

/* Both refused a valid text: where json-c blamed the record, the library
 * must blame it for the same reason.  (json-c also refuses some valid
 * texts as a whole, such as a bare number: nothing to compare then.) */
static const char *compare_refusals(const char *ndetail)
{
	if (!record_reason(oracle_error()))
		return NULL;
	if (same_reason(ndetail, strlen(ndetail), oracle_error(),
			strlen(oracle_error())))
		return NULL;
	return differ("host: library refused with \"%s\", oracle with \"%s\"",
		      ndetail, oracle_error());
}

const char *diff_host(const char *text, size_t len)
{
	drukbox_host *n = NULL;
	oracle_host *o = NULL;
	int nrc = drukbox_host_parse(&n, text, len);
	char ndetail[DRUKBOX_DETAIL_MAX];
	int orc;
	const char *d = NULL;

	snprintf(ndetail, sizeof(ndetail), "%s", drukbox_error_last()->detail);
	orc = oracle_host_parse(&o, text, len);
	if (nrc == -DRUKBOX_ENOMEM || orc == -DRUKBOX_ENOMEM)
		d = NULL;
	else if (!rfc_json_valid(text, len))
		d = must_refuse(nrc, "host");
	else if (nrc && !orc && clamped_disk(o))
		d = strstr(ndetail, "\"disk_gb\" is not an integer")
			    ? NULL
			    : differ("host: clamped disk_gb refused with %s",
				     ndetail);
	else if (!nrc != !orc)
		d = differ("host: library %d (%s), oracle %d (%s)", nrc,
			   ndetail, orc, oracle_error());
	else if (nrc)
		d = compare_refusals(ndetail);
	else
		d = host_difference(o, n);
	drukbox_host_free(n);
	oracle_host_free(o);
	return d;
}
