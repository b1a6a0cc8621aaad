#!/usr/bin/perl
# NAME
#	arc-maildkim.pl - seal a message or verify its ARC chain with Perl's Mail::DKIM
# SYNOPSIS
#	arc-maildkim.pl verify DNS_IP DNS_PORT MESSAGE_FILE
#	arc-maildkim.pl seal KEY.pem DOMAIN SELECTOR SRVID MESSAGE_FILE
# DESCRIPTION
#	verify runs Mail::DKIM::ARC::Verifier over the message, looking keys up only at
#	the DNS server DNS_IP:DNS_PORT (Net::DNS, no recursion, no search list), and
#	prints its result and detail on one line: "pass", "fail (why)", "none".
#
#	seal adds an ARC Set with Mail::DKIM::ARC::Signer (rsa-sha256; the chain status
#	from the arc= result of the SRVID Authentication-Results field, as Chain => 'ar'
#	does) and prints the sealed message with LF line ends.
#
#	Bare LF line endings are read as CRLF.  Debian 12's Mail::DKIM knows no
#	ed25519-sha256, so only RSA chains are given to it.
# DIAGNOSTICS
#	Exit 0 when the chain passes (verify) or the message was sealed (seal), 1 when not,
#	2 on a usage or environment error.
use strict;
use warnings;

sub usage {
	print STDERR "usage: arc-maildkim.pl verify DNS_IP DNS_PORT MESSAGE_FILE\n"
	    . "       arc-maildkim.pl seal KEY.pem DOMAIN SELECTOR SRVID MESSAGE_FILE\n";
	exit 2;
}

for my $module (qw(Mail::DKIM::ARC::Verifier Mail::DKIM::ARC::Signer Mail::DKIM::DNS
    Net::DNS::Resolver)) {
	eval "require $module; 1" or do {
		print STDERR "arc-maildkim: cannot load $module (apt-get install "
		    . "libmail-dkim-perl libnet-dns-perl): $@";
		exit 2;
	};
}

sub feed {
	my ($object, $path) = @_;
	open(my $fh, '<:raw', $path) or do {
		print STDERR "arc-maildkim: $path: $!\n";
		exit 2;
	};
	local $/;
	my $text = <$fh>;
	close($fh);
	$text =~ s/\r?\n/\r\n/g;
	$object->PRINT($text);
	$object->CLOSE;
	return $text;
}

my $mode = shift @ARGV // usage();
if ($mode eq 'verify') {
	usage() unless @ARGV == 3;
	my ($server, $port, $path) = @ARGV;
	Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
		nameservers => [$server], port => $port, recurse => 0, searchlist => [],
		defnames => 0, dnsrch => 0, retry => 2, udp_timeout => 5, tcp_timeout => 5));
	my $arc = Mail::DKIM::ARC::Verifier->new();
	feed($arc, $path);
	my $detail = $arc->result_detail // '';
	print $arc->result, ($detail ne '' && $detail ne $arc->result ? " ($detail)" : ''), "\n";
	exit($arc->result eq 'pass' ? 0 : 1);
} elsif ($mode eq 'seal') {
	usage() unless @ARGV == 5;
	my ($key, $domain, $selector, $srvid, $path) = @ARGV;
	my $arc = Mail::DKIM::ARC::Signer->new(Algorithm => 'rsa-sha256', Chain => 'ar',
	    Domain => $domain, SrvId => $srvid, Selector => $selector, KeyFile => $key);
	my $text = feed($arc, $path);
	if ($arc->result ne 'sealed') {
		print STDERR "arc-maildkim: not sealed: ", $arc->result, " ",
		    ($arc->result_detail // ''), "\n";
		exit 1;
	}
	my $out = $arc->as_string . $text;
	$out =~ s/\r\n/\n/g;
	print $out;
	exit 0;
}
usage();
