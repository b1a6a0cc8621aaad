#!/usr/bin/perl
# NAME
#	arc-sign-maildkim.pl - add one ARC set to a message with Mail::DKIM's ARC signer
# SYNOPSIS
#	arc-sign-maildkim.pl KEY_FILE DOMAIN SELECTOR SRV_ID MESSAGE_FILE
# DESCRIPTION
#	Seals MESSAGE_FILE with Mail::DKIM::ARC::Signer (rsa-sha256, Chain => 'ar': cv=
#	and the AAR come from the message's Authentication-Results whose authserv-id is
#	SRV_ID) and prints the message with the new ARC-Seal, ARC-Message-Signature and
#	ARC-Authentication-Results on top, CRLF line endings.  Exit status 1 when
#	Mail::DKIM does not seal, 2 on a usage error.
use strict;
use warnings;
use Mail::DKIM::ARC::Signer;
use Mail::DKIM::TextWrap;

if (@ARGV != 5) {
	print STDERR "usage: arc-sign-maildkim.pl KEY_FILE DOMAIN SELECTOR SRV_ID MESSAGE_FILE\n";
	exit 2;
}
my ($key, $domain, $selector, $srv_id, $path) = @ARGV;
open(my $fh, '<:raw', $path) or die "$path: $!\n";
my $message = do { local $/; <$fh> };
close($fh);
$message =~ s/\015?\012/\015\012/g;

my $signer = Mail::DKIM::ARC::Signer->new(Algorithm => 'rsa-sha256', Chain => 'ar',
    Domain => $domain, SrvId => $srv_id, Selector => $selector, KeyFile => $key,
    Headers => 'to:subject:date:message-id');
$signer->PRINT($message);
$signer->CLOSE();
if (($signer->result // '') ne 'sealed') {
	print STDERR "arc-sign-maildkim: " . ($signer->result_detail // 'not sealed') . "\n";
	exit 1;
}
my $set = $signer->as_string;
$set =~ s/\015?\012/\015\012/g;
$set .= "\015\012" unless $set =~ /\015\012\z/;
binmode(STDOUT);
print $set . $message;
exit 0;
