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
#	Ed25519 (RFC 8463): Debian 12's Mail::DKIM has no ed25519-sha256 class; as in
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

my $resolver = Net::DNS::Resolver->new(
	nameservers => [$server],
	port        => $port,
	recurse     => 0,
	searchlist  => [],
	defnames    => 0,
	dnsrch      => 0,
	retry       => 2,
	udp_timeout => 5,
	tcp_timeout => 5,
);
Mail::DKIM::DNS::resolver($resolver);
add_ed25519() unless eval { require Mail::DKIM::Algorithm::ed25519_sha256; 1 };

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

# ---- Ed25519 for a Mail::DKIM without it (from verify-maildkim.pl) ---------------------

package SignetTest::Ed25519Key;

sub new { my ($class, $pk) = @_; return bless { pk => $pk }, $class; }
sub size { return 32; }
sub pk { return $_[0]{pk}; }

package SignetTest::Ed25519Algorithm;
use base 'Mail::DKIM::Algorithm::Base';
use MIME::Base64;
use Digest::SHA;

sub init_digests {
	my $self = shift;
	$self->{header_digest} = Digest::SHA->new(256);
	$self->{body_digest}   = Digest::SHA->new(256);
}

sub wants_pre_signature_headers { return 1; }

sub sign { die "signing is not supported here\n"; }

sub verify {
	my $self = shift;
	my $key  = $self->signature->get_public_key;
	my $cork = $key->cork;
	die "key is not an Ed25519 key\n" unless ref($cork) eq 'SignetTest::Ed25519Key';
	my $digest = $self->{header_digest}->digest;
	my $sig    = decode_base64($self->signature->data);
	return unless $cork->pk->verify_message($sig, $digest);
	return $self->check_body_hash;
}

package main;

sub add_ed25519 {
	require Crypt::PK::Ed25519;
	require MIME::Base64;
	no warnings 'redefine';

	my $get_class = \&Mail::DKIM::Signature::get_algorithm_class;
	*Mail::DKIM::Signature::get_algorithm_class = sub {
		my ($self, $alg) = @_;
		return 'SignetTest::Ed25519Algorithm' if $alg eq 'ed25519-sha256';
		return $get_class->(@_);
	};
	my $hash_alg = \&Mail::DKIM::Signature::hash_algorithm;
	*Mail::DKIM::Signature::hash_algorithm = sub {
		my ($self) = @_;
		return 'sha256' if ($self->algorithm // '') eq 'ed25519-sha256';
		return $hash_alg->(@_);
	};
	my $check = \&Mail::DKIM::PublicKey::check;
	*Mail::DKIM::PublicKey::check = sub {
		my ($self) = @_;
		return $check->(@_) unless ($self->get_tag('k') // 'rsa') eq 'ed25519';
		my $v = $self->get_tag('v');
		die "unsupported version\n" if defined $v && $v ne 'DKIM1';
		my $p = $self->data;
		die "missing p= tag\n" unless defined $p;
		die "revoked\n" if $p eq '';
		die "invalid data\n" unless $p =~ /^[A-Za-z0-9+\/=]+$/;
		my $raw = MIME::Base64::decode_base64($p);
		die "Ed25519 key is not 32 bytes\n" unless length($raw) == 32;
		my $pk = Crypt::PK::Ed25519->new;
		$pk->import_key_raw($raw, 'public');
		$self->cork(SignetTest::Ed25519Key->new($pk));
		if (my $s = $self->get_tag('s')) {
			die "does not support email\n"
			    unless grep { $_ eq '*' || $_ eq 'email' } split(/:/, $s);
		}
		return 1;
	};
}
