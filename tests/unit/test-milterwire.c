/*
 * NAME
 *	test-milterwire.c - the milter wire protocol: frames, commands, replies
 * DESCRIPTION
 *	Checks milter/milterwire.c: frames split from a buffer fed a byte at a time, every
 *	command the MTA sends decoded, every malformed form refused (each command cut at
 *	every byte, strings without their NUL, an unknown family, lengths zero and too
 *	large), and the replies and the option negotiation reply byte for byte.  Each
 *	decoder runs on a copy of exactly the frame's bytes, so that the sanitizers catch a
 *	read past them.  Emits TAP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "milter/milterwire.h"
#include "tests/unit/tap.h"

/* A frame of `len` data bytes in a buffer of exactly that size. */
static struct mw_frame frame_of(int cmd, const char *data, size_t len)
{
	struct mw_frame f = {.cmd = (unsigned char)cmd, .len = len};

	f.data = malloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(f.data, data, len);
	return f;
}

static int decode_optneg(const struct mw_frame *f)
{
	struct mw_optneg o;

	return mw_decode_optneg(f, &o);
}

static int decode_connect(const struct mw_frame *f)
{
	struct mw_connect c;

	return mw_decode_connect(f, &c);
}

static int decode_header(const struct mw_frame *f)
{
	char   *name, *value;

	return mw_decode_header(f, &name, &value);
}

/* The command's data cut at every byte short of its whole: each refused. */
static void every_cut_refused(int cmd, const char *data, size_t len,
    int (*decode)(const struct mw_frame *), const char *what)
{
	for (size_t cut = 0; cut < len; cut++) {
		struct mw_frame x = frame_of(cmd, data, cut);

		TAP_OK(decode(&x) < 0, "%s_cut_at_%zu_refused", what, cut);
		free(x.data);
	}
}

static void frames_split_across_partial_reads(void)
{
	static const unsigned char wire[] = {
		0, 0, 0, 1, 'A',
		0, 0, 0, 4, 'H', 'm', 'x', 0,
		0, 0, 0, 3, 'B', 'h', 'i',
	};
	static const char cmds[] = {'A', 'H', 'B'};
	unsigned char buf[sizeof(wire)];
	size_t	have = 0, start = 0, got = 0, used;
	struct mw_frame f;
	int	order_ok = 1, rc;

	/* Fed a byte at a time: each frame comes out once, whole, in order. */
	for (size_t i = 0; i < sizeof(wire); i++) {
		buf[have++] = wire[i];
		while ((rc = mw_frame_next(buf + start, have - start, &f, &used)) == MW_OK) {
			if (got >= sizeof(cmds) || f.cmd != cmds[got])
				order_ok = 0;
			got++;
			start += used;
		}
		if (rc != MW_MORE)
			order_ok = 0;
	}
	TAP_INT_EQ(got, 3, "frames_split_byte_by_byte_count");
	TAP_OK(order_ok, "frames_split_byte_by_byte_in_order");
	TAP_INT_EQ(start, sizeof(wire), "frames_split_consume_everything");
	rc = mw_frame_next((unsigned char *)wire + 5, 8, &f, &used);
	TAP_OK(rc == MW_OK && f.len == 3 && memcmp(f.data, "mx", 3) == 0 && used == 8,
	    "frame_data_and_length");
}

static void frame_lengths_refused(void)
{
	unsigned char zero[] = {0, 0, 0, 0, 'A'}, big[] = {0, 1, 0, 1, 'B'},
	    huge[] = {0xff, 0xff, 0xff, 0xff, 'B'}, max[] = {0, 1, 0, 0, 'B'};
	struct mw_frame f;
	size_t	used;

	TAP_INT_EQ(mw_frame_next(zero, sizeof(zero), &f, &used), MW_ERR_LENGTH,
	    "frame_length_zero_refused");
	TAP_INT_EQ(mw_frame_next(big, sizeof(big), &f, &used), MW_ERR_LENGTH,
	    "frame_length_above_max_refused");
	TAP_INT_EQ(mw_frame_next(huge, sizeof(huge), &f, &used), MW_ERR_LENGTH,
	    "frame_length_4g_refused");
	TAP_INT_EQ(mw_frame_next(max, sizeof(max), &f, &used), MW_MORE,
	    "frame_length_at_max_waits_for_more");
	TAP_INT_EQ(mw_frame_next(zero, 3, &f, &used), MW_MORE, "frame_header_cut_waits");
}

static void optneg_decoded(void)
{
	static const char d[] = {0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff, 9};
	struct mw_frame f = frame_of('O', d, sizeof(d));
	struct mw_optneg o;

	TAP_OK(mw_decode_optneg(&f, &o) == MW_OK && o.version == 6 && o.actions == 0x1ff &&
	    o.protocol == 0x1fffff, "optneg_decoded");
	every_cut_refused('O', d, 12, decode_optneg, "optneg");
	free(f.data);
}

static void connect_decoded(void)
{
	static const char v4[] = "mx.example\0" "4\x01\x19" "192.0.2.1";
	static const char v6[] = "h\0" "6\x00\x19" "IPv6:2001:db8::1";
	static const char un[] = "localhost\0" "L\0\0" "/run/x.sock";
	static const char unk[] = "unknown\0" "U";
	struct mw_frame f;
	struct mw_connect c;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&c.addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&c.addr;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&c.addr;
	struct in6_addr want6;

	f = frame_of('C', v4, sizeof(v4));
	TAP_OK(mw_decode_connect(&f, &c) == MW_OK && strcmp(c.hostname, "mx.example") == 0 &&
	    c.family == '4' && in4->sin_family == AF_INET && ntohs(in4->sin_port) == 0x119 &&
	    in4->sin_addr.s_addr == htonl(0xc0000201), "connect_inet_decoded");
	every_cut_refused('C', v4, sizeof(v4), decode_connect, "connect_inet");
	free(f.data);
	f = frame_of('C', v6, sizeof(v6));
	inet_pton(AF_INET6, "2001:db8::1", &want6);
	TAP_OK(mw_decode_connect(&f, &c) == MW_OK && c.family == '6' &&
	    in6->sin6_family == AF_INET6 && ntohs(in6->sin6_port) == 25 &&
	    memcmp(&in6->sin6_addr, &want6, sizeof(want6)) == 0, "connect_inet6_decoded");
	every_cut_refused('C', v6, sizeof(v6), decode_connect, "connect_inet6");
	free(f.data);
	f = frame_of('C', un, sizeof(un));
	TAP_OK(mw_decode_connect(&f, &c) == MW_OK && c.family == 'L' &&
	    sun->sun_family == AF_UNIX && strcmp(sun->sun_path, "/run/x.sock") == 0,
	    "connect_unix_decoded");
	free(f.data);
	f = frame_of('C', unk, sizeof(unk) - 1);
	TAP_OK(mw_decode_connect(&f, &c) == MW_OK && c.family == 'U' &&
	    strcmp(c.hostname, "unknown") == 0, "connect_unknown_family_has_no_address");
	free(f.data);
	f = frame_of('C', "h\0X\0\0" "1.2.3.4", 13);
	TAP_INT_EQ(mw_decode_connect(&f, &c), MW_ERR_FAMILY, "connect_bad_family_refused");
	free(f.data);
	f = frame_of('C', "h\0" "4\0\0" "1.2.3.400", 15);
	TAP_INT_EQ(mw_decode_connect(&f, &c), MW_ERR_ADDRESS, "connect_bad_address_refused");
	free(f.data);
	f = frame_of('C', "h\0" "4\0\0" "1.2.3.4", 12);
	TAP_INT_EQ(mw_decode_connect(&f, &c), MW_ERR_NUL, "connect_address_without_nul_refused");
	free(f.data);
	f = frame_of('C', "hostname", 8);
	TAP_INT_EQ(mw_decode_connect(&f, &c), MW_ERR_NUL, "connect_hostname_without_nul_refused");
	free(f.data);
}

static void macros_decoded(void)
{
	static const char d[] = "Mi\0ABC123\0{auth_type}\0PLAIN";
	static const char stages[] = "CHMRTEN";
	struct mw_frame f = frame_of('D', d, sizeof(d));
	char   *pairs, *s;
	size_t	len, pos = 0;
	int	stage, ok = 1;

	TAP_OK(mw_decode_macros(&f, &stage, &pairs, &len) == MW_OK && stage == 2 &&
	    len == sizeof(d) - 1, "macros_decoded_for_mail");
	TAP_OK(mw_next_string(pairs, len, &pos, &s) == MW_OK && strcmp(s, "i") == 0 &&
	    mw_next_string(pairs, len, &pos, &s) == MW_OK && strcmp(s, "ABC123") == 0,
	    "macros_first_pair");
	free(f.data);
	for (int i = 0; i < 7; i++) {
		char	one[3] = {stages[i], 'x', '\0'};
		struct mw_frame x = frame_of('D', one, 3);

		if (mw_decode_macros(&x, &stage, &pairs, &len) != MW_OK || stage != i)
			ok = 0;
		free(x.data);
	}
	TAP_OK(ok, "macros_stage_of_each_command");
	f = frame_of('D', "C", 1);
	TAP_OK(mw_decode_macros(&f, &stage, &pairs, &len) == MW_OK && len == 0,
	    "macros_empty_list_accepted");
	free(f.data);
	f = frame_of('D', "Q" "a\0b", 5);
	TAP_INT_EQ(mw_decode_macros(&f, &stage, &pairs, &len), MW_ERR_STAGE,
	    "macros_for_unknown_command_refused");
	free(f.data);
	f = frame_of('D', "", 0);
	TAP_INT_EQ(mw_decode_macros(&f, &stage, &pairs, &len), MW_ERR_SHORT,
	    "macros_without_command_refused");
	free(f.data);
	f = frame_of('D', "Ma\0b", 4);
	TAP_INT_EQ(mw_decode_macros(&f, &stage, &pairs, &len), MW_ERR_NUL,
	    "macros_last_value_without_nul_refused");
	free(f.data);
}

static void strings_decoded(void)
{
	static const char hdr[] = "Subject\0 hello";
	static const char mail[] = "<a@example.org>\0SIZE=10\0BODY=8BITMIME";
	struct mw_frame f;
	char   *a, *b, *argv[4];
	size_t	count;

	f = frame_of('H', "mx.example", 11);
	TAP_OK(mw_decode_string(&f, &a) == MW_OK && strcmp(a, "mx.example") == 0,
	    "helo_decoded");
	free(f.data);
	f = frame_of('H', "mx", 2);
	TAP_INT_EQ(mw_decode_string(&f, &a), MW_ERR_NUL, "helo_without_nul_refused");
	free(f.data);
	f = frame_of('H', "", 0);
	TAP_INT_EQ(mw_decode_string(&f, &a), MW_ERR_SHORT, "helo_empty_refused");
	free(f.data);
	f = frame_of('L', hdr, sizeof(hdr));
	TAP_OK(mw_decode_header(&f, &a, &b) == MW_OK && strcmp(a, "Subject") == 0 &&
	    strcmp(b, " hello") == 0, "header_decoded");
	free(f.data);
	every_cut_refused('L', hdr, sizeof(hdr), decode_header, "header");
	f = frame_of('L', "\0empty name", 12);
	TAP_INT_EQ(mw_decode_header(&f, &a, &b), MW_ERR_EMPTY, "header_empty_name_refused");
	free(f.data);
	f = frame_of('L', "\0a\0b", 5);
	TAP_INT_EQ(mw_decode_header(&f, &a, &b), MW_ERR_EMPTY,
	    "header_empty_name_with_two_strings_after_refused");
	free(f.data);
	f = frame_of('M', mail, sizeof(mail));
	TAP_OK(mw_decode_argv(&f, argv, 4, &count) == MW_OK && count == 3 &&
	    strcmp(argv[0], "<a@example.org>") == 0 && strcmp(argv[2], "BODY=8BITMIME") == 0,
	    "mail_argv_decoded");
	TAP_OK(mw_decode_argv(&f, argv, 1, &count) == MW_OK && count == 3,
	    "mail_argv_counted_past_max");
	free(f.data);
	for (size_t cut = 0; cut < sizeof(mail); cut++) {
		struct mw_frame x = frame_of('M', mail, cut);
		int	rc = mw_decode_argv(&x, argv, 4, &count);

		/* A cut just after a NUL leaves a shorter, well-formed list. */
		TAP_OK(cut > 0 && mail[cut - 1] == '\0' ? rc == MW_OK : rc < 0,
		    "mail_argv_cut_at_%zu", cut);
		free(x.data);
	}
}

/* What out holds is want, byte for byte; out is emptied for the next. */
static void bytes_are(struct buffer *out, const char *want, size_t len, const char *name)
{
	TAP_OK(out->len == len && memcmp(out->data, want, len) == 0, "%s", name);
	out->len = 0;
}

static void replies_encoded(void)
{
	struct buffer out = {0};

	mw_put_reply(&out, MW_REPLY_CONTINUE, NULL, 0);
	mw_put_reply(&out, MW_REPLY_ACCEPT, NULL, 0);
	mw_put_reply(&out, MW_REPLY_REJECT, NULL, 0);
	mw_put_reply(&out, MW_REPLY_TEMPFAIL, NULL, 0);
	bytes_are(&out, "\0\0\0\1c\0\0\0\1a\0\0\0\1r\0\0\0\1t", 20, "simple_replies_encoded");
	mw_put_string(&out, MW_REPLY_REPLYCODE, "550 5.7.1 no");
	bytes_are(&out, "\0\0\0\x0ey550 5.7.1 no\0", 18, "replycode_encoded");
	mw_put_header(&out, MW_REPLY_ADDHEADER, 0, "X-A", " b");
	bytes_are(&out, "\0\0\0\x08hX-A\0 b\0", 12, "addheader_encoded");
	mw_put_header(&out, MW_REPLY_INSHEADER, 0x01020304, "X-A", " b");
	bytes_are(&out, "\0\0\0\x0ci\1\2\3\4X-A\0 b\0", 16, "insheader_encoded");
	mw_put_header(&out, MW_REPLY_CHGHEADER, 2, "DKIM-Signature", "");
	bytes_are(&out, "\0\0\0\x15m\0\0\0\2DKIM-Signature\0\0", 25, "chgheader_remove_encoded");
	mw_put_string(&out, MW_REPLY_QUARANTINE, "bad");
	bytes_are(&out, "\0\0\0\5qbad\0", 9, "quarantine_encoded");
	buffer_free(&out);
}

static void optneg_reply_encoded(void)
{
	static const unsigned char want[] = {
		0, 0, 0, 0x21, 'O',
		0, 0, 0, 6, 0, 0, 1, 0x31, 0, 0x10, 0x01, 0x00,
		0, 0, 0, 2, 'i', ' ', '{', 'x', '}', 0,
		0, 0, 0, 3, 0,
		0, 0, 0, 4, 0,
	};
	struct mw_optneg o = {6, 0x131, 0x100100};
	const char *lists[MW_STAGES] = {NULL};
	struct buffer out = {0};

	lists[MW_STAGE_ENVFROM] = "i {x}";
	lists[MW_STAGE_ENVRCPT] = "";
	lists[MW_STAGE_DATA] = "";
	TAP_OK(mw_put_optneg(&out, &o, lists) == MW_OK && out.len == sizeof(want) &&
	    memcmp(out.data, want, sizeof(want)) == 0, "optneg_reply_with_macro_lists_encoded");
	out.len = 0;
	TAP_OK(mw_put_optneg(&out, &o, NULL) == MW_OK && out.len == 17 &&
	    memcmp(out.data, "\0\0\0\x0dO", 5) == 0 && memcmp(out.data + 5, want + 5, 12) == 0,
	    "optneg_reply_without_lists_encoded");
	buffer_free(&out);
}

int	main(void)
{
	frames_split_across_partial_reads();
	frame_lengths_refused();
	optneg_decoded();
	connect_decoded();
	macros_decoded();
	strings_decoded();
	replies_encoded();
	optneg_reply_encoded();
	return tap_done();
}
