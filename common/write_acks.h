/*
 * write_acks.h — acknowledgements owed once bytes reach the kernel.
 *
 * A process that writes stanzas it received in ROUTE frames to a socket
 * (c2s to a client, s2s to another server) may acknowledge a kept frame
 * only once its stanza has left the process (doc/component-protocol.md,
 * "Kept frames"): bytes still in a connection's write buffer die with the
 * process. The connection counts every byte it ever appended to its write
 * buffer; each stanza written is remembered here with the count at its
 * end, and when the count of bytes written to the socket passes it, the
 * ACK goes to the router link. A connection that dies first gives its
 * remaining entries back (reject_all, or take them one by one to do
 * something else with them: s2s sends them again).
 *
 * A zero-initialised struct write_acks is an empty, valid one and owns no
 * memory; entries (and a copy of their two names) exist only while their
 * bytes wait. Must not: acknowledge out of order, or anything not yet
 * written.
 */
#ifndef PARLEY_WRITE_ACKS_H
#define PARLEY_WRITE_ACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct router_link;

struct write_ack {
	char *from;		/* who acknowledges: the ACK's `from` (the frame's `to`) */
	char *to;		/* whom: the frame's sender */
	uint32_t seq;		/* the frame's seq */
	uint64_t end;		/* the stanza's last byte, in the connection's running count */
	void *item;		/* the owner's (NULL for none): see free_item */
};

struct write_acks {
	struct write_ack *v;	/* v[head .. head + count) wait, oldest first */
	size_t head, count, cap;
	/* Frees an entry's item when the entry goes (acknowledged, rejected,
	 * or at fini); NULL when the owner attaches no items. */
	void (*free_item)(void *item);
};

/* Sends one acknowledgement: `rejected` false is router_link_ack,
 * true router_link_reject. What write_acks_due() and
 * write_acks_reject_all() use; a test gives its own. */
typedef void write_acks_send_fn(void *arg, const struct write_ack *e, bool rejected);
/* The sender that talks to a struct router_link (arg); a refusal by the
 * link is logged here. */
void write_acks_send_link(void *link, const struct write_ack *e, bool rejected);

/* Owe an ACK from `from` to `to` for `seq` once `end` bytes have been
 * written. `end` never goes down from one call to the next. */
void write_acks_add(struct write_acks *wa, const char *from, const char *to, uint32_t seq,
    uint64_t end);
/* The same with an item of the owner's (freed by wa->free_item, or given
 * back by write_acks_take). */
void write_acks_add_item(struct write_acks *wa, const char *from, const char *to, uint32_t seq,
    uint64_t end, void *item);
/* Entries still waiting. */
static inline size_t write_acks_count(const struct write_acks *wa) { return wa->count; }

/* `written_total` bytes have reached the kernel: acknowledge, in order,
 * every entry that ends there or before. */
void write_acks_due(struct write_acks *wa, uint64_t written_total, struct router_link *link);
void write_acks_due_to(struct write_acks *wa, uint64_t written_total, write_acks_send_fn *send,
    void *arg);
/* The connection died: reject every remaining entry (the frame's sender
 * gets it back) and forget it. */
void write_acks_reject_all(struct write_acks *wa, struct router_link *link);
void write_acks_reject_all_to(struct write_acks *wa, write_acks_send_fn *send, void *arg);
/* The oldest remaining entry becomes the caller's (names and item):
 * false when none is left. Free the names with write_ack_clear(). */
bool write_acks_take(struct write_acks *wa, struct write_ack *out);
void write_ack_clear(struct write_ack *e);
/* Forget every entry without a word (items freed) and the memory: the
 * struct is empty and usable again. */
void write_acks_fini(struct write_acks *wa);

#endif
