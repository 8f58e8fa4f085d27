/*
 * test_register.c — XEP-0077's decisions: what each jabber:iq:register iq
 * asks for, before and after login, with registration on and off, and the
 * error each refusal and each backend answer becomes.
 */
#include <stdio.h>
#include <string.h>

#include "register.h"
#include "unit.h"
#include "xml_stream.h"

static struct conf *conf;
static struct xml_stream *xs;
static struct stanza *last;     /* the last stanza parsed (parse()) */

static void setup(void)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	char err[ERRLEN];

	ck_assert_int_eq(conf_load_string(&conf, "hosts = [ \"example.org\", \"B\xc3\xbc" "cher.example\" ];\n",
	    "test.conf", &errs), 0);
	xs = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(xs);
}

static void teardown(void)
{
	stanza_free(&last);
	conf_free(&conf);
	xml_stream_free(&xs);
}

/* The last stanza parsed stays alive: req->password points into it. */
static enum register_outcome parse(const char *xml, bool on, struct register_request *req)
{
	char err[ERRLEN];

	stanza_free(&last);
	last = stanza_new_empty();
	ck_assert_msg(xml_stream_parse_stanza(xs, xml, strlen(xml), last, err, sizeof(err)) == 0,
	    "%s", err);
	return register_parse(last, conf, on, req);
}

#define IQ(attrs, body) "<iq xmlns='jabber:client' id='r1' " attrs ">" body "</iq>"
#define Q(body) "<query xmlns='jabber:iq:register'>" body "</query>"
#define PRE "type='set' to='example.org'"
#define POST "type='set' from='juliet@example.org/balcony'"

START_TEST(test_form_before_login_only_when_registration_is_on)
{
	struct register_request req;

	ck_assert_int_eq(parse(IQ("type='get' to='example.org'", Q("")), true, &req), REGISTER_OK);
	ck_assert_int_eq(req.action, REGISTER_FORM);
	ck_assert_str_eq(req.host, "example.org");
	ck_assert_int_eq(parse(IQ("type='get' to='example.org'", Q("")), false, &req),
	    REGISTER_SERVICE_UNAVAILABLE);
	/* Logged in, the form says the account is registered, either way. */
	ck_assert_int_eq(parse(IQ("type='get' from='juliet@example.org/b'", Q("")), false, &req),
	    REGISTER_OK);
	ck_assert_int_eq(req.action, REGISTER_FORM_REGISTERED);
	ck_assert_str_eq(req.user, "juliet");
}
END_TEST

START_TEST(test_create_before_login)
{
	struct register_request req;

	ck_assert_int_eq(parse(IQ(PRE, Q("<username>Romeo</username><password>x</password>")),
	    true, &req), REGISTER_OK);
	ck_assert_int_eq(req.action, REGISTER_CREATE);
	ck_assert_str_eq(req.user, "romeo");   /* nodeprepped */
	ck_assert_int_eq(parse(IQ(PRE, Q("<username>romeo</username><password>x</password>")),
	    false, &req), REGISTER_NOT_ALLOWED);
	/* XEP-0077 §3.1: information missing is not-acceptable. */
	ck_assert_int_eq(parse(IQ(PRE, Q("<username>romeo</username>")), true, &req),
	    REGISTER_NOT_ACCEPTABLE);
	ck_assert_int_eq(parse(IQ(PRE, Q("<password>x</password>")), true, &req),
	    REGISTER_NOT_ACCEPTABLE);
	ck_assert_int_eq(parse(IQ(PRE, Q("<username>romeo</username><password/>")), true, &req),
	    REGISTER_NOT_ACCEPTABLE);
	ck_assert_int_eq(parse(IQ(PRE, Q("<username>ro@meo</username><password>x</password>")),
	    true, &req), REGISTER_NOT_ACCEPTABLE);
	ck_assert_int_eq(parse(IQ(PRE, Q("<username></username><password>x</password>")),
	    true, &req), REGISTER_NOT_ACCEPTABLE);
	/* A domain we do not host; no `to` at all. */
	ck_assert_int_eq(parse(IQ("type='set' to='example.com'",
	    Q("<username>r</username><password>x</password>")), true, &req),
	    REGISTER_SERVICE_UNAVAILABLE);
	ck_assert_int_eq(parse(IQ("type='set'", Q("<username>r</username><password>x</password>")),
	    true, &req), REGISTER_JID_MALFORMED);
	/* The host in another form is the same host. */
	ck_assert_int_eq(parse(IQ("type='set' to='b\xc3\xbc" "cher.example'",
	    Q("<username>r</username><password>x</password>")), true, &req), REGISTER_OK);
	ck_assert_str_eq(req.host, "b\xc3\xbc" "cher.example");
}
END_TEST

START_TEST(test_password_change_and_removal_after_login)
{
	struct register_request req;

	ck_assert_int_eq(parse(IQ(POST, Q("<username>juliet</username><password>n</password>")),
	    false, &req), REGISTER_OK);
	ck_assert_int_eq(req.action, REGISTER_PASSWORD);
	ck_assert_str_eq(req.password, "n");
	ck_assert_int_eq(parse(IQ(POST, Q("<username>romeo</username><password>n</password>")),
	    true, &req), REGISTER_NOT_AUTHORIZED);
	/* §3.3: a password change without both fields is bad-request. */
	ck_assert_int_eq(parse(IQ(POST, Q("<password>n</password>")), false, &req),
	    REGISTER_BAD_REQUEST);
	ck_assert_int_eq(parse(IQ(POST, Q("<remove/>")), false, &req), REGISTER_OK);
	ck_assert_int_eq(req.action, REGISTER_REMOVE);
	ck_assert_str_eq(req.user, "juliet");
	/* §3.2: <remove/> with anything else is not a removal. */
	ck_assert_int_eq(parse(IQ(POST, Q("<remove/><username>juliet</username>")), false, &req),
	    REGISTER_BAD_REMOVE);
	ck_assert_int_eq(parse(IQ(POST, Q("<username>juliet</username><remove/>")), false, &req),
	    REGISTER_BAD_REMOVE);
	ck_assert_ptr_nonnull(register_outcome_error(REGISTER_BAD_REMOVE));
	ck_assert_str_eq(register_outcome_error(REGISTER_BAD_REMOVE)->condition, "bad-request");
	ck_assert_int_eq(parse(IQ(PRE, Q("<remove/>")), true, &req), REGISTER_NOT_AUTHORIZED);
	ck_assert_int_eq(parse(IQ("type='set' from='juliet@example.com/x'", Q("<remove/>")), true,
	    &req), REGISTER_NOT_AUTHORIZED);
}
END_TEST

START_TEST(test_what_is_not_ours_is_ignored_or_refused)
{
	struct register_request req;

	ck_assert_int_eq(parse(IQ("type='result' to='example.org'", Q("")), true, &req),
	    REGISTER_IGNORE);
	ck_assert_int_eq(parse("<message xmlns='jabber:client' to='example.org'/>", true, &req),
	    REGISTER_IGNORE);
	ck_assert_int_eq(parse(IQ("type='get' to='example.org'",
	    "<query xmlns='jabber:iq:version'/>"), true, &req), REGISTER_SERVICE_UNAVAILABLE);
}
END_TEST

START_TEST(test_backend_answers_become_xep_0077_errors)
{
	ck_assert_int_eq(register_outcome_for(REGISTER_CREATE, AUTHREG_OK), REGISTER_OK);
	ck_assert_int_eq(register_outcome_for(REGISTER_CREATE, AUTHREG_EXISTS), REGISTER_CONFLICT);
	ck_assert_int_eq(register_outcome_for(REGISTER_CREATE, AUTHREG_NO), REGISTER_NOT_ACCEPTABLE);
	ck_assert_int_eq(register_outcome_for(REGISTER_REMOVE, AUTHREG_NO), REGISTER_ITEM_NOT_FOUND);
	ck_assert_int_eq(register_outcome_for(REGISTER_PASSWORD, AUTHREG_TEMPFAIL),
	    REGISTER_INTERNAL_ERROR);
	ck_assert_int_eq(register_outcome_for(REGISTER_PASSWORD, AUTHREG_UNSUPPORTED),
	    REGISTER_NOT_ALLOWED);
	ck_assert_ptr_null(register_outcome_error(REGISTER_OK));
	ck_assert_str_eq(register_outcome_error(REGISTER_CONFLICT)->condition, "conflict");
	ck_assert_str_eq(register_outcome_error(REGISTER_CONFLICT)->type, "cancel");
	ck_assert_str_eq(register_outcome_error(REGISTER_NOT_ALLOWED)->condition, "not-allowed");
	ck_assert_str_eq(register_outcome_error(REGISTER_NOT_ACCEPTABLE)->type, "modify");
	ck_assert_str_eq(register_outcome_error(REGISTER_INTERNAL_ERROR)->type, "wait");
}
END_TEST

START_TEST(test_errors_do_not_echo_the_password)
{
	struct stanza *st = stanza_new_empty();
	struct buf out = BUF_INIT;
	char err[ERRLEN];
	const char *xml = IQ(PRE, Q("<username>romeo</username><password>s3cr3t</password>"));

	ck_assert_int_eq(xml_stream_parse_stanza(xs, xml, strlen(xml), st, err, sizeof(err)), 0);
	register_strip_password(st);
	stanza_make_error(st, "cancel", "conflict", NULL);
	stanza_write(st, &out, NULL);
	ck_assert_ptr_null(strstr(buf_head(&out), "s3cr3t"));
	ck_assert_ptr_nonnull(strstr(buf_head(&out), "romeo"));
	buf_free(&out);
	stanza_free(&st);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("register");
	TCase *tc = tcase_create("register");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_form_before_login_only_when_registration_is_on);
	tcase_add_test(tc, test_create_before_login);
	tcase_add_test(tc, test_password_change_and_removal_after_login);
	tcase_add_test(tc, test_what_is_not_ours_is_ignored_or_refused);
	tcase_add_test(tc, test_backend_answers_become_xep_0077_errors);
	tcase_add_test(tc, test_errors_do_not_echo_the_password);
	suite_add_tcase(s, tc);
	return s;
}
