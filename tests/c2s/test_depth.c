/*
 * test_depth.c — c2s's byte-level element depth tracker: it says "between
 * stanzas" exactly when a stream's input stands at depth 1 with no markup
 * open, whatever the split of the bytes and whatever hides a '>' (quoted
 * attribute values, comments, CDATA, processing instructions).
 */
#include <string.h>

#include "c2s.h"
#include "unit.h"

#define HEADER "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>"

static bool after(const char *input, size_t piece)
{
	struct depth_tracker t;
	size_t len = strlen(input);

	depth_reset(&t);
	for (size_t i = 0; i < len; i += piece)
		depth_track(&t, input + i, len - i < piece ? len - i : piece);
	return depth_between_stanzas(&t);
}

START_TEST(test_depth_between_stanzas_after_header_and_whole_stanzas)
{
	static const char *const yes[] = {
		HEADER,
		HEADER "  \n ",
		HEADER "<presence/>",
		HEADER "<message to='a@b'><body>x &amp; y</body></message> ",
		HEADER "<iq type='get' id='a>b'><query xmlns='q' a=\"/>\"/></iq>",
		HEADER "<message><body><![CDATA[</message> <a>]]></body></message>",
	};
	for (size_t piece = 1; piece <= 7; piece += 3)
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
			ck_assert_msg(after(yes[i], piece), "not between stanzas: %s (%zu)", yes[i], piece);
}
END_TEST

START_TEST(test_depth_inside_a_stanza_or_a_tag_is_not_between)
{
	static const char *const no[] = {
		"",
		"<?xml version='1.0'?>",
		HEADER "<message>",
		HEADER "<message><body>hi</body>",
		HEADER "<presence",
		HEADER "<presence type='a>",
		HEADER "<message><body><![CDATA[ ]]",
		HEADER "</stream:stream>",
		HEADER "<a/><b",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!after(no[i], 1) && !after(no[i], 64), "between stanzas: %s", no[i]);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("c2s_depth");
	TCase *tc = tcase_create("depth");
	tcase_add_test(tc, test_depth_between_stanzas_after_header_and_whole_stanzas);
	tcase_add_test(tc, test_depth_inside_a_stanza_or_a_tag_is_not_between);
	suite_add_tcase(s, tc);
	return s;
}
