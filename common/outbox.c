/*
 * outbox.c — a sender's kept frames (see outbox.h): a list in seq order
 * for resending in order, and a table by seq for acknowledgements.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "outbox.h"
#include "util.h"

struct outbox {
	struct outbox_entry *head, *tail;
	struct hash *by_seq;
	size_t count, bytes;
};

static void seq_key(uint32_t seq, char key[4])
{
	memcpy(key, &seq, 4);
}

struct outbox *outbox_new(void)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));

	ob->by_seq = hash_new(64);
	return ob;
}

void outbox_entry_free(struct outbox_entry *e)
{
	free(e->to);
	free(e->bytes);
	free(e);
}

void outbox_free(struct outbox **obp)
{
	struct outbox *ob = *obp;

	if (ob == NULL)
		return;
	for (struct outbox_entry *e = ob->head, *next; e != NULL; e = next) {
		next = e->next;
		outbox_entry_free(e);
	}
	hash_free(&ob->by_seq, NULL);
	free(ob);
	*obp = NULL;
}

struct outbox_entry *outbox_add(struct outbox *ob, uint32_t seq, const char *to,
    const void *frame, size_t len)
{
	struct outbox_entry *e = xcalloc(1, sizeof(*e));
	char key[4];

	e->seq = seq;
	e->state = OUTBOX_QUEUED;
	e->to = xstrdup(to);
	e->len = len;
	e->bytes = xmalloc(len);
	memcpy(e->bytes, frame, len);
	e->prev = ob->tail;
	if (ob->tail != NULL)
		ob->tail->next = e;
	else
		ob->head = e;
	ob->tail = e;
	seq_key(seq, key);
	/* A seq comes round again only after 2^32 frames: the older entry
	 * would have to be that old. Replace it rather than keep two. */
	ob->count++;
	ob->bytes += len;
	struct outbox_entry *old = hash_put(ob->by_seq, key, 4, e);
	if (old != NULL) {
		old->seq = 0; /* seq 0 is never used: its key is e's now */
		outbox_remove(ob, old);
	}
	return e;
}

struct outbox_entry *outbox_find(const struct outbox *ob, uint32_t seq)
{
	char key[4];

	seq_key(seq, key);
	return hash_get(ob->by_seq, key, 4);
}

void outbox_remove(struct outbox *ob, struct outbox_entry *e)
{
	outbox_unlink(ob, e);
	outbox_entry_free(e);
}

void outbox_unlink(struct outbox *ob, struct outbox_entry *e)
{
	char key[4];

	seq_key(e->seq, key);
	if (hash_get(ob->by_seq, key, 4) == e)
		hash_del(ob->by_seq, key, 4);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ob->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		ob->tail = e->prev;
	e->prev = e->next = NULL;
	ob->count--;
	ob->bytes -= e->len;
}

struct outbox_entry *outbox_first(const struct outbox *ob)
{
	return ob->head;
}

size_t outbox_count(const struct outbox *ob)
{
	return ob->count;
}

size_t outbox_bytes(const struct outbox *ob)
{
	return ob->bytes;
}
