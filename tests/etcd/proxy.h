/*
 * A small TCP proxy on 127.0.0.1 in front of one etcd member, for the tests
 * of lost replies: armed with a pattern, it forwards the next request whose
 * bytes contain the pattern, lets the server apply it, and then drops the
 * server's answer and cuts the client's connection, as a network that
 * fails at the worst moment would.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYSSEM_TEST_PROXY_H
#define SYSSEM_TEST_PROXY_H

struct proxy;

/* Listen on a free port, forward to 127.0.0.1:target. NULL on failure. */
struct proxy *proxy_start(int target);
int proxy_port(const struct proxy *p);
/* Drop the answer to the next request that contains pattern. */
void proxy_arm(struct proxy *p, const char *pattern);
/* Answers dropped so far. */
int proxy_dropped(struct proxy *p);
/* HTTP requests passed on so far (POSTs to etcd's /v3/ API). */
int proxy_requests(struct proxy *p);
void proxy_stop(struct proxy *p);

/* A port that accepts connections (the kernel completes them) and never
 * answers; close the returned descriptor to end it. -1 on failure. */
int silent_port(int *port);

#endif
