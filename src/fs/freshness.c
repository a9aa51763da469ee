/*
 * See freshness.h.  Kept apart from the cache so that the rules can be
 * read and tested on their own.
 */
#include "freshness.h"

bool drukfs_freshness_fresh(double fetched_at, double now, double ttl)
{
	return fetched_at >= 0 && now - fetched_at < ttl;
}

drukfs_decision drukfs_freshness_decide(const drukfs_freshness *f, double now,
					double ttl, double grace,
					double timeout)
{
	drukfs_decision d = { false, now, f->fetched_at >= 0 };
	double started = f->attempt_at;

	if (drukfs_freshness_fresh(f->fetched_at, now, ttl))
		return d;
	if (!f->fetching) {
		/* One attempt per TTL window, successful or not. */
		if (f->attempt_at >= 0 && now - f->attempt_at < ttl)
			return d;
		d.start = true;
		started = now;
	}
	d.wait_until = started + (d.have_data ? grace : timeout + 1.0);
	return d;
}
