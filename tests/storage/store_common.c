/*
 * store_common.c — what the storage test suite's cases share whatever the
 * driver: a quick way to create a user, and the strings every text column
 * must keep byte for byte.
 */
#include <stdbool.h>

#include "store.h"

void store_user(struct storage *s, const char *domain, const char *localpart)
{
	static struct storage_user_secrets sec;
	static bool have;
	char err[ERRLEN] = "";

	if (!have) {
		ck_assert_msg(storage_secrets_from_password("pw", 4096, &sec, err,
		    sizeof(err)) == 0, "%s", err);
		have = true;
	}
	STORE_CALL(STORAGE_OK, storage_user_create(s, domain, localpart, &sec, err, sizeof(err)));
}

const char *const store_odd_strings[] = {
	"o'brien",
	"say \"hi\"",
	"back\\slash\\\\",
	"100%_done",
	"%",
	"_",
	"semi;colon;",
	"x' OR 1=1 --",
	"\"' OR 1=1 --",
	"'); DROP TABLE roster_items; --",
	"J\xc3\xbcrgen \xe2\x98\x83 \xe6\x97\xa5\xe6\x9c\xac",
	"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
	"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbd\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
	" leading and trailing spaces ",
	NULL,
};
