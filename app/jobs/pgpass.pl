use strict;
use warnings;
use JSON::PP ();

my ($secret_file, $pgpass_file) = @ARGV;
open(my $in, '<', $secret_file) or die "osp: cannot read the master user secret\n";
my $text = do { local $/; <$in> };
close($in);
my $secret = eval { JSON::PP->new->decode($text) };
die "osp: the master user secret is not a JSON object\n" unless ref($secret) eq 'HASH';
my ($user, $password) = @{$secret}{qw(username password)};
for my $value ($user, $password) {
    die "osp: the master user secret has no username or password\n"
        unless defined($value) && !ref($value) && length($value);
}
die "osp: the master user name is not a plain PostgreSQL name\n"
    unless $user =~ /\A[A-Za-z][A-Za-z0-9_]{0,62}\z/;
die "osp: the master password holds a line break\n" if $password =~ /[\r\n]/;
# A password file entry is host:port:database:user:password; ':' and '\' in a field are
# escaped with '\'. Every field but the password matches anything: PG* variables pick the host.
(my $escaped = $password) =~ s/([\\:])/\\$1/g;
open(my $out, '>', $pgpass_file) or die "osp: cannot write the password file\n";
print {$out} "*:*:*:*:$escaped\n" or die "osp: cannot write the password file\n";
close($out) or die "osp: cannot write the password file\n";
print $user;
