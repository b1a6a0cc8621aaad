# NAME
#	SignetTestMailDKIM.pm - what the test scripts that run Perl's Mail::DKIM share
# SYNOPSIS
#	use FindBin; use lib $FindBin::Bin; use SignetTestMailDKIM;
#	SignetTestMailDKIM::use_nsd($server, $port);
# DESCRIPTION
#	use_nsd() makes Mail::DKIM look keys up only at the DNS server SERVER:PORT (Net::DNS,
#	no recursion, no search list) and, when the installed Mail::DKIM has no
#	ed25519-sha256 class (Debian 12's 1.20230212 knows only rsa-sha1 and rsa-sha256),
#	adds one (RFC 8463): Mail::DKIM still parses, canonicalises and hashes headers and
#	body, and checks the body hash; only the Ed25519 check of the SHA-256 header hash
#	against the raw 32-byte p= key is done here with CryptX's Crypt::PK::Ed25519
#	(libcryptx-perl).  ARC-Seal and ARC-Message-Signature are Mail::DKIM::Signature
#	subclasses, so the same hooks serve ARC.  Used by verify-maildkim.pl and
#	arc-verify-maildkim.pl.
package SignetTestMailDKIM;

use strict;
use warnings;

sub use_nsd {
	my ($server, $port) = @_;
	require Mail::DKIM::DNS;
	require Net::DNS::Resolver;
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
}

# ---- Ed25519 for a Mail::DKIM without it ---------------------------------------------

# The "cork" Mail::DKIM keeps for a parsed public key; size() is what the verifier asks.
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

package SignetTestMailDKIM;

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
	# k=ed25519 keys: the same checks as Mail::DKIM's for RSA keys, but the p= data
	# is the raw 32-byte public key (RFC 8463 section 4).
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

1;
