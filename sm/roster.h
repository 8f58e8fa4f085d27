/*
 * roster.h — what mod_roster.c offers the modules that change roster
 * items on the user's behalf (subscriptions, blocking): reading an item
 * with its full subscription state, writing it back, and the roster push
 * (RFC 6121 §2.1.6) to the owner's interested resources.
 */
#ifndef PARLEY_SM_ROSTER_H
#define PARLEY_SM_ROSTER_H

#include <stdbool.h>

#include "sm.h"
#include "storage.h"
#include "subscription.h"

/* The owner's item for contact (a bare JID string) into *item (zeroed
 * with contact set when there is none, *exists false) and its state
 * (with Pending In from the stored requests) into *st. -1 on a storage
 * error, logged here. */
int sm_roster_load(struct sm *sm, const struct jid *owner, const char *contact,
    struct storage_roster_item *item, bool *exists, struct sub_state *st);

/* Store the item with the state *st (sub, ask) and push it. An item in
 * state None with nothing pending that did not exist is not created.
 * Pending In is not the item's: the caller keeps the requests. -1 on a
 * storage error, logged here. */
int sm_roster_save(struct sm *sm, const struct jid *owner, struct storage_roster_item *item,
    bool exists, const struct sub_state *st);

/* Push one item (or its removal) with the version it made. */
void sm_roster_push(struct sm *sm, const struct jid *owner,
    const struct storage_roster_item *item, int64_t ver);

/* Call fn for each of the owner's items (read once from storage). */
typedef void (*sm_roster_each_fn)(struct sm *sm, const struct storage_roster_item *item,
    void *arg);
int sm_roster_each(struct sm *sm, const struct jid *owner, sm_roster_each_fn fn, void *arg);

#endif
