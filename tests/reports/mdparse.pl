#!/usr/bin/perl
# NAME
#	mdparse.pl - read aggregate reports with Mail::DMARC (Debian's libmail-dmarc-perl),
#	the independent parser of tests/reports/make.py
# SYNOPSIS
#	perl tests/reports/mdparse.pl FILE.xml.gz... > reports.json
# DESCRIPTION
#	Each file is gunzip'd with IO::Uncompress::Gunzip and read by the node handlers of
#	Mail::DMARC::Report::Receive (do_node_report_metadata, do_node_policy_published,
#	do_node_record), which fill a Mail::DMARC::Report::Aggregate; its file name goes
#	through get_submitter_from_filename.  What Mail::DMARC understood is printed as one
#	JSON object per file, keyed by file name.  handle_body() itself is not called: it
#	also saves into Mail::DMARC's SQL store, which the test has no use for.
#
#	Two things of Mail::DMARC 1.20211209 are worked around, each said here:
#	- its XPath has no namespace, and RFC 9990 reports are in
#	  urn:ietf:params:xml:ns:dmarc-2.0, so the root's default namespace declaration is
#	  removed (after checking it is that one) before the document is handed over;
#	- it reads each <dkim> with a path from the <record>, so every DKIM result of a
#	  record reads as the first one: only the number of <dkim> and the first are
#	  printed (make.py checks all of them with its own parser).
# DIAGNOSTICS
#	Dies naming the file when it is not gzip, not XML, or not in the namespace.
use strict;
use warnings;

use File::Basename qw(basename);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::PP;
use Mail::DMARC::Report::Receive;
use XML::LibXML;

my $NS = 'urn:ietf:params:xml:ns:dmarc-2.0';
my %out;

for my $file (@ARGV) {
    my ($gz, $xml);
    open my $fh, '<:raw', $file or die "$file: $!\n";
    { local $/; $gz = <$fh>; }
    close $fh;
    gunzip(\$gz => \$xml) or die "$file: not gzip: $GunzipError\n";

    my $root = XML::LibXML->load_xml(string => $xml)->documentElement;
    die "$file: root is not feedback in $NS\n"
        unless $root->localname eq 'feedback' && ($root->namespaceURI // '') eq $NS;
    $xml =~ s/<feedback xmlns="\Q$NS\E">/<feedback>/ or die "$file: namespace not on the root\n";

    my $r = Mail::DMARC::Report::Receive->new;
    $r->report->init();
    my $name = basename($file);
    $r->get_submitter_from_filename($name);
    my $dom = XML::LibXML->load_xml(string => $xml);
    $r->do_node_report_metadata($dom->findnodes('/feedback/report_metadata'));
    $r->do_node_policy_published($dom->findnodes('/feedback/policy_published'));
    $r->do_node_record($_) for $dom->findnodes('/feedback/record');

    my $agg = $r->report->aggregate;
    my $meta = $agg->metadata;
    my $pol = $agg->policy_published;
    my @records;
    for my $rec (@{ $agg->record }) {
        my $pe = $rec->row->policy_evaluated;
        my $dkim = $rec->auth_results->dkim;
        my $spf = $rec->auth_results->spf;
        push @records, {
            source_ip     => $rec->row->source_ip,
            count         => 0 + $rec->row->count,
            disposition   => $pe->disposition,
            dkim_aligned  => $pe->dkim,
            spf_aligned   => $pe->spf,
            header_from   => $rec->identifiers->header_from,
            envelope_from => $rec->identifiers->envelope_from,
            envelope_to   => $rec->identifiers->envelope_to,
            dkim_count    => scalar @$dkim,
            dkim_first    => @$dkim ? { map { $_ => $dkim->[0]{$_} } qw(domain selector result) }
                                    : undef,
            spf           => @$spf ? { map { $_ => $spf->[0]{$_} } qw(domain scope result) }
                                   : undef,
        };
    }
    $out{$name} = {
        org_name         => $meta->org_name,
        email            => $meta->email,
        report_id        => $meta->report_id,
        begin            => 0 + $meta->begin,
        end              => 0 + $meta->end,
        domain           => $pol->domain,
        p                => $pol->p,
        file_submitter   => $r->{_envelope_to},
        file_domain      => $r->{_header_from},
        records          => \@records,
    };
}
print JSON::PP->new->utf8->canonical->encode(\%out), "\n";
