#!/usr/bin/perl
# NAME
#	sign-maildkim.pl - sign a message with Perl's Mail::DKIM, for the inbound cases
# SYNOPSIS
#	sign-maildkim.pl KEYFILE DOMAIN SELECTOR CANON ALGORITHM HEADERS [TIMESTAMP
#	    [EXPIRATION]] < MESSAGE
# DESCRIPTION
#	Reads a message on standard input (LF or CRLF line endings), signs it with
#	Mail::DKIM::Signer using the PEM RSA private key KEYFILE, and prints the
#	DKIM-Signature header field (folded, CRLF line endings) to prepend to the message.
#	CANON is e.g. relaxed/simple; ALGORITHM rsa-sha256 or rsa-sha1 (Debian 12's
#	Mail::DKIM has no ed25519-sha256); HEADERS is the exact colon-separated h= list
#	(through a signing policy, since Mail::DKIM's own Headers option only adds to its
#	default list, which always has From), or "-" for Mail::DKIM's default choice.  TIMESTAMP and EXPIRATION are absolute Unix times for
#	t= and x=, or "-" for none.
#
#	tests/data/run-cases.py runs this for "sign maildkim" lines.
# DIAGNOSTICS
#	Exit status 0 with the header field on standard output, 2 on any error, with one
#	line on standard error.

use strict;
use warnings;

if (@ARGV < 6) {
	print STDERR "usage: sign-maildkim.pl KEYFILE DOMAIN SELECTOR CANON ALGORITHM "
	    . "HEADERS [TIMESTAMP [EXPIRATION]] < MESSAGE\n";
	exit 2;
}
my ($keyfile, $domain, $selector, $canon, $algorithm, $headers, $t, $x) = @ARGV;

eval { require Mail::DKIM::Signer; require Mail::DKIM::Signature; 1 } or do {
	print STDERR "sign-maildkim: cannot load Mail::DKIM::Signer "
	    . "(apt-get install libmail-dkim-perl): $@";
	exit 2;
};

binmode(STDIN, ':raw');
binmode(STDOUT, ':raw');
my $message = do { local $/; <STDIN> };
$message =~ s/\015?\012/\015\012/g;

my %args = (
	Algorithm => $algorithm,
	Method    => $canon,
	Domain    => $domain,
	Selector  => $selector,
	KeyFile   => $keyfile,
);
$args{Timestamp} = $t if defined $t && $t ne '-';
$args{Expiration} = $x if defined $x && $x ne '-';
if ($headers ne '-') {
	# One signature with exactly this h= list, whatever the message holds.
	my %sig = %args;
	delete $sig{Method};
	$args{Policy} = sub {
		my $signer = shift;
		$signer->add_signature(Mail::DKIM::Signature->new(%sig,
		    Method => $canon, Headers => $headers));
		return;
	};
}

my $signer = eval { Mail::DKIM::Signer->new(%args) };
if (!$signer) {
	print STDERR "sign-maildkim: Mail::DKIM::Signer->new: $@\n";
	exit 2;
}
eval {
	$signer->PRINT($message);
	$signer->CLOSE();
	1;
} or do {
	print STDERR "sign-maildkim: signing failed: $@\n";
	exit 2;
};
my $sig = $signer->signature;
if (!$sig) {
	print STDERR "sign-maildkim: no signature produced\n";
	exit 2;
}
print $sig->as_string() . "\015\012";
exit 0;
