// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>
#include "names.h"

#define SF_X_NAME(name, num, label, short_name) [num] = #name,
#define SF_X_LABEL(name, num, label, short_name) [num] = #label,
#define SF_X_SHORT(name, num, label, short_name) [num] = short_name,
#define SF_X_TEXT(name, text) text,

static const char *const state_names[SF_TCP_MAX_STATES] = { [0] = "UNKNOWN",
							    SF_TCP_STATE_LIST(SF_X_NAME) };
static const char *const state_labels[SF_TCP_MAX_STATES] = { SF_TCP_STATE_LIST(SF_X_LABEL) };
static const char *const state_shorts[SF_TCP_MAX_STATES] = { SF_TCP_STATE_LIST(SF_X_SHORT) };
static const char *const role_names[SF_ROLE_COUNT] = { SF_ROLE_LIST(SF_X_TEXT) };
static const char *const close_names[SF_CLOSE_COUNT] = { SF_CLOSE_LIST(SF_X_TEXT) };
static const char *const closer_names[SF_CLOSER_COUNT] = { SF_CLOSER_LIST(SF_X_TEXT) };
static const char *const gap_names[SF_GAP_COUNT] = { SF_GAP_LIST(SF_X_TEXT) };
static const char *const reason_names[SF_REASON_COUNT] = { SF_REASON_LIST(SF_X_TEXT) };

const unsigned char sf_watched_states[] = {
	SF_TCP_ESTABLISHED, SF_TCP_SYN_SENT,   SF_TCP_SYN_RECV, SF_TCP_FIN_WAIT1, SF_TCP_FIN_WAIT2,
	SF_TCP_TIME_WAIT,   SF_TCP_CLOSE_WAIT, SF_TCP_LAST_ACK, SF_TCP_CLOSING,	  SF_TCP_LISTEN,
};
const size_t sf_nwatched_states = sizeof(sf_watched_states);

/* parsers accept the states a socket can be seen in at its end: not NEW_SYN_RECV */
const struct sf_names sf_state_names = { state_names, SF_TCP_CLOSING + 1 };
const struct sf_names sf_role_names = { role_names, SF_ROLE_COUNT };
const struct sf_names sf_close_names = { close_names, SF_CLOSE_COUNT };
const struct sf_names sf_closer_names = { closer_names, SF_CLOSER_COUNT };
const struct sf_names sf_reason_names = { reason_names, SF_REASON_COUNT };

const char *sf_state_name(unsigned int state)
{
	return state < SF_TCP_MAX_STATES ? state_names[state] : "UNKNOWN";
}

const char *sf_state_label(unsigned int state)
{
	return state < SF_TCP_MAX_STATES ? state_labels[state] : NULL;
}

const char *sf_state_short(unsigned int state)
{
	return state < SF_TCP_MAX_STATES ? state_shorts[state] : NULL;
}

const char *sf_role_name(unsigned int role)
{
	return role_names[role < SF_ROLE_COUNT ? role : SF_ROLE_UNKNOWN];
}

const char *sf_close_name(unsigned int close)
{
	return close_names[close < SF_CLOSE_COUNT ? close : SF_CLOSE_INCOMPLETE];
}

const char *sf_closer_name(unsigned int closer)
{
	return closer_names[closer < SF_CLOSER_COUNT ? closer : SF_CLOSER_NONE];
}

const char *sf_gap_name(unsigned int bit)
{
	return bit < SF_GAP_COUNT ? gap_names[bit] : NULL;
}

const char *sf_reason_name(unsigned int reason)
{
	return reason && reason < SF_REASON_COUNT ? reason_names[reason] : NULL;
}

void sf_names_list(const struct sf_names *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < t->n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", t->names[i]);
}

int sf_names_find(const struct sf_names *t, const char *s)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (!strcmp(t->names[i], s))
			return (int)i;
	return -1;
}
