/*
 * ctl_storage.c — `parleyctl storage init|migrate`: create the schema in an
 * empty database, or bring an older one up to this version's, with the
 * driver and settings of the configuration's storage section. The drivers
 * do the same at every open (sm, auth); this lets an operator do it once,
 * by hand, with the database user that owns the schema, and see the
 * result before starting anything.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "parleyctl.h"
#include "storage.h"

static void usage(FILE *out, const struct ctl *ctl)
{
	fprintf(out,
	    "usage: %s [-c FILE] storage init|migrate\n"
	    "  init     create the schema in an empty database (nothing to do if it is there)\n"
	    "  migrate  bring the schema up to this version's\n"
	    "Both use storage.driver and its settings (storage.sqlite, storage.sql).\n",
	    ctl->prog);
}

int ctl_storage(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct storage *s = NULL;
	char err[ERRLEN];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl->config_path = optarg;
			break;
		case 'h':
			usage(stdout, ctl);
			return CTL_EXIT_OK;
		default:
			usage(stderr, ctl);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || (strcmp(argv[optind], "init") != 0 &&
	    strcmp(argv[optind], "migrate") != 0)) {
		usage(stderr, ctl);
		return CTL_EXIT_USAGE;
	}
	struct conf *c = ctl_load_config(ctl);
	if (c == NULL)
		return CTL_EXIT_FAIL;
	if (storage_prepare(c, err, sizeof(err)) < 0 || storage_open(&s, c, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "storage %s: %s", argv[optind], err);
		conf_free(&c);
		return CTL_EXIT_FAIL;
	}
	printf("storage %s: the %s database is at schema version %d (this version's)\n",
	    argv[optind], storage_driver_name(s), storage_schema_version(s));
	storage_close(&s);
	conf_free(&c);
	return CTL_EXIT_OK;
}
