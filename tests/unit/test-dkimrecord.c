/*
 * NAME
 *	test-dkimrecord.c - unit tests of keys/dkimrecord.c: DKIM key records in DNS
 *	against the record signet-keys publishes
 * SYNOPSIS
 *	tests/unit/test-dkimrecord
 * DESCRIPTION
 *	A table of published records (each TXT record's strings already joined) and the
 *	verdict wanted against one RSA and one Ed25519 expected record.  TAP on stdout.
 */
#include <stdio.h>
#include <string.h>

#include "keys/dkimrecord.h"
#include "tests/unit/tap.h"

#define RSA	"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwxyz"
#define ED	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

struct record_case {
	const char *name;
	const char *expected;
	const char *records[3];
	size_t	count;
	enum dkimrecord_verdict want;
};

static const struct record_case cases[] = {
	{ "the_same_record_matches", RSA, { RSA }, 1, DKIMREC_OK },
	{ "tags_in_another_order_and_spacing_match", RSA,
	    { "v=DKIM1;p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwxyz ;k=rsa;" }, 1,
	    DKIMREC_OK },
	{ "no_k_and_no_v_is_rsa_and_matches", RSA,
	    { "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwxyz" }, 1, DKIMREC_OK },
	{ "unknown_tags_and_t_s_are_allowed", RSA, { RSA "; t=s; n=hello; x=1" }, 1,
	    DKIMREC_OK },
	{ "ed25519_matches", ED, { ED }, 1, DKIMREC_OK },
	{ "no_record_is_missing", RSA, { NULL }, 0, DKIMREC_MISSING },
	{ "another_key_is_other_key", RSA,
	    { "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAabcd" }, 1,
	    DKIMREC_OTHER_KEY },
	{ "a_prefix_of_p_is_truncated", RSA,
	    { "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCg" }, 1,
	    DKIMREC_TRUNCATED },
	{ "a_literal_quote_is_malformed", RSA,
	    { "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOC\"AQ8AMIIBCgKCAQEAwxyz" }, 1,
	    DKIMREC_MALFORMED },
	{ "a_backslash_is_malformed", RSA,
	    { "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOC\\AQ8AMIIBCgKCAQEAwxyz" }, 1,
	    DKIMREC_MALFORMED },
	{ "white_space_inside_p_is_malformed", RSA,
	    { "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIB CgKCAQEAwxyz" }, 1,
	    DKIMREC_MALFORMED },
	{ "v_not_first_is_malformed", RSA,
	    { "k=rsa; v=DKIM1; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwxyz" }, 1,
	    DKIMREC_MALFORMED },
	{ "v_dkim2_is_malformed", RSA,
	    { "v=DKIM2; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwxyz" }, 1,
	    DKIMREC_MALFORMED },
	{ "no_p_is_malformed", RSA, { "v=DKIM1; k=rsa" }, 1, DKIMREC_MALFORMED },
	{ "not_a_tag_list_is_malformed", RSA, { "hello world" }, 1, DKIMREC_MALFORMED },
	{ "a_tag_twice_is_malformed", RSA, { RSA "; k=rsa" }, 1, DKIMREC_MALFORMED },
	{ "h_without_sha256_is_malformed", RSA, { RSA "; h=sha1" }, 1, DKIMREC_MALFORMED },
	{ "h_with_sha256_matches", RSA, { RSA "; h=sha1:sha256" }, 1, DKIMREC_OK },
	{ "k_ed25519_for_rsa_is_wrong_type", RSA,
	    { "v=DKIM1; k=ed25519; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwxyz" }, 1,
	    DKIMREC_WRONG_TYPE },
	{ "k_rsa_for_ed25519_is_wrong_type", ED,
	    { "v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" }, 1,
	    DKIMREC_WRONG_TYPE },
	{ "no_k_for_ed25519_is_wrong_type", ED,
	    { "v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" }, 1,
	    DKIMREC_WRONG_TYPE },
	{ "empty_p_is_revoked", RSA, { "v=DKIM1; k=rsa; p=" }, 1, DKIMREC_REVOKED },
	{ "two_records_are_several", RSA, { RSA, "v=spf1 -all" }, 2, DKIMREC_SEVERAL },
	{ "two_copies_are_several", RSA, { RSA, RSA }, 2, DKIMREC_SEVERAL },
};

static void
test_case(const struct record_case *c)
{
	char *records[3] = { NULL, NULL, NULL }, detail[512];
	size_t lengths[3] = { 0, 0, 0 }, i;
	enum dkimrecord_verdict got;

	for (i = 0; i < c->count; i++) {
		records[i] = (char *)c->records[i];
		lengths[i] = strlen(c->records[i]);
	}
	detail[0] = '\0';
	got = dkimrecord_compare(records, lengths, c->count, c->expected, detail,
	    sizeof(detail));
	TAP_STR_EQ(dkimrecord_verdict_name(got), dkimrecord_verdict_name(c->want), "%s",
	    c->name);
	TAP_OK(detail[0] != '\0', "%s says why: %s", c->name, detail);
}

static void
test_nul_byte(void)
{
	char rec[] = "v=DKIM1; k=rsa; p=MIIB\0IjAN", *records[1] = { rec }, detail[256];
	size_t lengths[1] = { sizeof(rec) - 1 };

	TAP_INT_EQ(dkimrecord_compare(records, lengths, 1, RSA, detail, sizeof(detail)),
	    DKIMREC_MALFORMED, "a_nul_byte_is_malformed");
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_case(&cases[i]);
	test_nul_byte();
	TAP_OK(dkimrecord_verdict_temporary(DKIMREC_PROPAGATING)
	    && dkimrecord_verdict_temporary(DKIMREC_DNS_FAILURE)
	    && !dkimrecord_verdict_temporary(DKIMREC_MISSING), "temporary_verdicts");
	return tap_done();
}
