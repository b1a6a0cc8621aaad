#!/usr/bin/perl
# NAME
#	verify-maildkim.pl - verify every DKIM-Signature of a message with Mail::DKIM
# SYNOPSIS
#	verify-maildkim.pl DNS_IP DNS_PORT MESSAGE_FILE
# DESCRIPTION
#	Verifies each DKIM-Signature of MESSAGE_FILE with Perl's Mail::DKIM::Verifier,
#	looking keys up only at the DNS server DNS_IP:DNS_PORT (Net::DNS, no recursion,
#	no search list).  Bare LF line endings are read as CRLF.  Prints one line per
#	signature, in header order:
#
#	    d=DOMAIN s=SELECTOR a=ALGORITHM RESULT [(detail)]
#
#	RESULT is Mail::DKIM's own: pass, fail, invalid, temperror, none.
#	Exit status 0 when there is at least one signature and every one passes, 1 when
#	one does not or there is none, 2 on a usage or environment error.
#
#	Ed25519: Debian 12's Mail::DKIM (1.20230212) knows only rsa-sha1 and rsa-sha256.
#	When the installed Mail::DKIM has no ed25519-sha256 class, SignetTestMailDKIM.pm adds one
#	(RFC 8463): Mail::DKIM still parses, canonicalises and hashes headers and body, and
#	checks the body hash; only the last step, the Ed25519 check of the SHA-256 header
#	hash against the raw 32-byte p= key, is done here with CryptX's
#	Crypt::PK::Ed25519 (libcryptx-perl).  A newer Mail::DKIM that has its own class
#	is used as it is.

use strict;
use warnings;

if (@ARGV != 3) {
	print STDERR "usage: verify-maildkim.pl DNS_IP DNS_PORT MESSAGE_FILE\n";
	exit 2;
}
my ($server, $port, $path) = @ARGV;

for my $module (qw(Mail::DKIM::Verifier Mail::DKIM::DNS Net::DNS::Resolver)) {
	eval "require $module; 1" or do {
		print STDERR "verify-maildkim: cannot load $module (apt-get install "
		    . "libmail-dkim-perl libnet-dns-perl libcryptx-perl): $@";
		exit 2;
	};
}

use FindBin;
use lib $FindBin::Bin;
use SignetTestMailDKIM;

SignetTestMailDKIM::use_nsd($server, $port);

open(my $fh, '<:raw', $path) or do {
	print STDERR "verify-maildkim: $path: $!\n";
	exit 2;
};
my $message = do { local $/; <$fh> };
close($fh);
$message =~ s/\015?\012/\015\012/g;

my $dkim = Mail::DKIM::Verifier->new();
$dkim->PRINT($message);
$dkim->CLOSE();

my @sigs = $dkim->signatures;
my $all_pass = @sigs ? 1 : 0;
for my $sig (@sigs) {
	my $result = $sig->result // 'none';
	my $line = sprintf("d=%s s=%s a=%s %s", $sig->domain // '?',
	    $sig->selector // '?', $sig->algorithm // '?', $result);
	my $detail = $sig->result_detail;
	if ($result ne 'pass' && defined $detail) {
		$detail =~ s/^\Q$result\E \((.*)\)$/$1/;
		$line .= " ($detail)" if $detail ne $result;
	}
	print "$line\n";
	$all_pass = 0 if $result ne 'pass';
}
print "no DKIM-Signature\n" unless @sigs;
exit($all_pass ? 0 : 1);
