/*
 * common.h — what every libdrukbox source includes first.
 *
 * The library is built with -fvisibility=hidden so that the private modules
 * (buf, http, json, error setters) stay out of the shared object's symbol
 * table.  The public header is included here between visibility pragmas:
 * every function it declares is exported, and because each definition
 * inherits the visibility of its earlier declaration no source file needs a
 * per-function marker.  For that to hold, library sources must include this
 * file before anything that could pull in <drukbox/drukbox.h> on its own.
 */
#ifndef DRUKBOX_LIB_COMMON_H
#define DRUKBOX_LIB_COMMON_H

#pragma GCC visibility push(default)
#include "drukbox/drukbox.h"
#pragma GCC visibility pop

/* Largest response body the client accepts (64 MiB).  A host list of a few
 * thousand records is well under 10 MiB; anything bigger is a broken or
 * hostile server, and buffering it would only hurt the caller. */
#define DRUKBOX_RESPONSE_MAX ((size_t)64 << 20)

#endif
