#!/usr/bin/perl
# NAME
#	arc-verify-maildkim.pl - validate a message's ARC chain with Mail::DKIM
# SYNOPSIS
#	arc-verify-maildkim.pl DNS_IP DNS_PORT MESSAGE_FILE
# DESCRIPTION
#	Validates the ARC chain of MESSAGE_FILE with Perl's Mail::DKIM::ARC::Verifier,
#	looking keys up only at the DNS server DNS_IP:DNS_PORT (Net::DNS, no recursion,
#	no search list; as tests/lib/verify-maildkim.pl does).  Bare LF line endings are
#	read as CRLF.  Prints one line: Mail::DKIM's result and its detail,
#
#	    pass|fail|none|invalid|temperror (as.1.DOMAIN=..., ams.1.DOMAIN=..., ...)
#
#	Exit status 0 when the chain passes, 1 when it does not, 2 on a usage or
#	environment error.
#
#	Ed25519 (RFC 8463): Debian 12's Mail::DKIM has no ed25519-sha256 class; as for
#	verify-maildkim.pl, one is added that lets Mail::DKIM canonicalize and hash and
#	does only the Ed25519 check itself (CryptX's Crypt::PK::Ed25519).  ARC-Seal and
#	ARC-Message-Signature are Mail::DKIM::Signature subclasses, so the same hooks serve.

use strict;
use warnings;

if (@ARGV != 3) {
	print STDERR "usage: arc-verify-maildkim.pl DNS_IP DNS_PORT MESSAGE_FILE\n";
	exit 2;
}
my ($server, $port, $path) = @ARGV;

for my $module (qw(Mail::DKIM::ARC::Verifier Mail::DKIM::DNS Net::DNS::Resolver)) {
	eval "require $module; 1" or do {
		print STDERR "arc-verify-maildkim: cannot load $module (apt-get install "
		    . "libmail-dkim-perl libnet-dns-perl libcryptx-perl): $@";
		exit 2;
	};
}

use FindBin;
use lib $FindBin::Bin;
use SignetTestMailDKIM;

SignetTestMailDKIM::use_nsd($server, $port);

open(my $fh, '<:raw', $path) or do {
	print STDERR "arc-verify-maildkim: $path: $!\n";
	exit 2;
};
my $message = do { local $/; <$fh> };
close($fh);
$message =~ s/\015?\012/\015\012/g;

my $arc = Mail::DKIM::ARC::Verifier->new();
$arc->PRINT($message);
$arc->CLOSE();
my $result = $arc->result // 'none';
print(($arc->result_detail // $result) . "\n");
exit($result eq 'pass' ? 0 : 1);
