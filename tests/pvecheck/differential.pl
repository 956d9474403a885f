#!/usr/bin/perl
# Differential driver: runs Proxmox VE's own Perl functions (from a pvecheck sandbox, outside
# the project) on the cases differential.py sends, and prints what they answer.
#
#   perl differential.pl SANDBOX < CASES.json > RESULTS.json
#
# CASES.json: [{"id": ..., "kind": ..., ...}, ...]; RESULTS.json: {"ID": {...}, ...}.
# Kinds and the real code each runs (only the host access is replaced: the pmxcfs files
# come from the case, sysfs from the simulator's machine description):
#   mapping_update / mapping_create  pve-manager PVE::API2::Cluster::Mapping::PCI update /
#        create method code (lock_pci_config, assert_if_modified, SectionConfig check_config,
#        delete_from_config) on mapping/pci.cfg given as text -> {error} | {entry}
#   assert_valid   pve-guest-common PVE::Mapping::PCI::assert_valid -> {error} | {ok}
#   tags           pve-guest-common PVE::GuestHelpers::get_unique_tags with datacenter.cfg's
#                  tag-style -> {result}
#   hostpci_perm   qemu-server PVE::API2::Qemu's lexical check_hostpci_perm (reached with
#                  PadWalker through create_vm's closure) -> {ok} | {error} | {errors}
#   parse_hostpci  qemu-server PVE::QemuServer::PCI::parse_hostpci -> {ok, ids} | {error}
#   propstr        pve-common PVE::JSONSchema::parse_property_string(FORMAT, VALUE, PATH)
#                  -> {ok} | {error}
#   usb_scan       pve-common PVE::SysFSTools::__scan_usb_device over SYSFS/usb* (a sysfs tree the
#                  caller built, in scan_usb's glob order) -> {list}
#   usb_assert_valid  pve-guest-common PVE::Mapping::USB::assert_valid, scan_usb over SYSFS
#                  -> {ok} | {error}
#   usb_parse_device  qemu-server PVE::QemuServer::USB::parse_usb_device(undef, MAPPING) on node
#                  NODE with mapping/usb.cfg given as text -> {ok, res} | {error}
#   hookscript     pve-guest-common PVE::GuestHelpers::check_hookscript with storage.cfg given as
#                  text, dir storages' paths replaced by real folders (`paths`) -> {ok} | {error}
# Nothing of Proxmox is copied here: the code is loaded from SANDBOX at run time.
use strict;
use warnings;

my $SANDBOX = shift(@ARGV) or die "usage: differential.pl SANDBOX < CASES.json\n";
$SANDBOX =~ s{/+$}{};
my @LIBS = qw(lib qslib stlib gclib aclib pmlib cllib lxlib fwlib halib sdnlib httplib);
-d "$SANDBOX/$_" or die "sandbox $SANDBOX is incomplete (no $_)\n" for @LIBS;

# modules that cannot work here (XS, pmxcfs, Rust bindings) become stubs returning undef
my %FORCE_STUB = map { $_ => 1 } qw(PVE/IPCC.pm PVE/Cluster.pm PVE/RRD.pm PVE/RADOS.pm
    PVE/APIClient/LWP.pm);
my %NEVER_STUB = map { $_ => 1 } qw(JSON/XS.pm Cpanel/JSON/XS.pm PadWalker.pm
    Encode/ConfigLocal.pm Log/Agent.pm);

sub pkg_of { my $f = shift; $f =~ s{/}{::}g; $f =~ s/\.pm$//; return $f }

sub stub_fh {
    my $pkg = pkg_of($_[0]);
    my $src = <<"EOS";
package $pkg;
our \$AUTOLOAD;
sub AUTOLOAD { return undef }
sub DESTROY {}
sub import {
    my \$p = shift; my \$c = caller; no strict 'refs';
    for my \$name (\@_) {
        next if ref(\$name) || \$name =~ /^[:-]/;
        if (\$name =~ /^\\\$(\\w+)\$/) { *{"\${c}::\$1"} = \\my \$x; next }
        next if \$name !~ /^\\w+\$/ || defined(&{"\${c}::\$name"});
        *{"\${c}::\$name"} = sub { return undef };
    }
}
1;
EOS
    open(my $fh, '<', \$src) or die;
    return $fh;
}

unshift @INC, (sub { return $FORCE_STUB{ $_[1] } ? stub_fh($_[1]) : () }),
    map { "$SANDBOX/$_" } @LIBS;
push @INC, sub {
    my (undef, $file) = @_;
    return if $NEVER_STUB{$file} || $file !~ m{^[A-Za-z][\w/]*\.pm$};
    return stub_fh($file);
};

our %FILES; # pmxcfs files of the current case: name -> parsed content
{
    local $SIG{__WARN__} = sub { };
    require JSON;
    require PadWalker;
    require PVE::JSONSchema;
    require PVE::Tools;
    require PVE::SectionConfig;
    require PVE::Mapping::PCI;
    require PVE::GuestHelpers;
    require PVE::QemuServer::PCI;
    require PVE::API2::Cluster::Mapping::PCI;
    require PVE::API2::Qemu;
    require PVE::Exception;
    require PVE::SysFSTools;
    require PVE::Mapping::USB;
    require PVE::QemuServer::USB;
    require PVE::Storage;
}

{
    no warnings qw(redefine once);
    # pmxcfs: reads come from the case, writes are kept, a lock runs the code like
    # cfs_lock_file does (error left in $@)
    *PVE::Cluster::cfs_read_file = sub { return $FILES{ $_[0] } };
    *PVE::Mapping::PCI::cfs_read_file = \&PVE::Cluster::cfs_read_file;
    *PVE::GuestHelpers::cfs_read_file = \&PVE::Cluster::cfs_read_file;
    *PVE::Cluster::cfs_write_file = sub { $FILES{ $_[0] } = $_[1]; return undef };
    *PVE::Mapping::PCI::cfs_write_file = \&PVE::Cluster::cfs_write_file;
    *PVE::Cluster::cfs_lock_file = sub {
        my ($file, $timeout, $code, @param) = @_;
        my $res = eval { $code->(@param) };
        return $res;
    };
    *PVE::Mapping::PCI::cfs_lock_file = \&PVE::Cluster::cfs_lock_file;
    *PVE::Mapping::USB::cfs_read_file = \&PVE::Cluster::cfs_read_file;
    *PVE::INotify::nodename = sub { return $main::NODE // 'pve1' };
}

# sysfs: the simulator's machine description of the node (addr -> device)
our ($MACHINE, $NODE);
{
    no warnings qw(redefine once);
    *PVE::SysFSTools::pci_device_info = sub {
        my ($name) = @_;
        $name = "0000:$name" if $name !~ m/^[0-9a-f]{4,}:/i;
        my $d = $MACHINE->{ lc($name) } or return undef;
        return {
            name => $name,
            vendor => $d->{vendor},
            device => $d->{device},
            iommugroup => $d->{iommu_group} // -1,
            mdev => ($d->{mdev_types} || $d->{nvidia_vgpu_types}) ? 1 : undef,
            (defined($d->{subsystem_vendor}) ? (subsystem_vendor => $d->{subsystem_vendor}) : ()),
            (defined($d->{subsystem_device}) ? (subsystem_device => $d->{subsystem_device}) : ()),
        };
    };
    *PVE::SysFSTools::lspci = sub {
        my ($filter) = @_;
        $filter = "0000:$filter" if defined($filter) && $filter !~ m/^[0-9a-f]{4,}:/i;
        my @res;
        for my $addr (sort keys %$MACHINE) {
            next if defined($filter) && $addr !~ m/^\Q$filter\E/i;
            my $d = $MACHINE->{$addr};
            push @res, { id => $addr, vendor => "0x$d->{vendor}", device => "0x$d->{device}",
                ($d->{nvidia_vgpu_types} ? (nvidia => 1) : ()) };
        }
        return \@res;
    };
}

sub err_text {
    my ($err) = @_;
    return "$err" if !ref($err);
    return { message => $err->{msg}, errors => $err->{errors} } if ref($err) eq 'PVE::Exception';
    return "$err";
}

sub pci_cfg { # mapping/pci.cfg text -> the parsed config, as cfs_read_file returns it
    my ($text) = @_;
    return PVE::Mapping::PCI->parse_config('mapping/pci.cfg', $text);
}

sub plain_entry {
    my ($e) = @_;
    return undef if !$e;
    my %out = %$e;
    return \%out;
}

my %KIND;

$KIND{mapping_update} = $KIND{mapping_create} = sub {
    my ($c) = @_;
    %FILES = ('mapping/pci.cfg' => pci_cfg($c->{cfg}));
    my $name = $c->{kind} eq 'mapping_update' ? 'update' : 'create';
    my $info = PVE::API2::Cluster::Mapping::PCI->map_method_by_name($name);
    my $param = { %{ $c->{params} }, id => $c->{mapping} };
    # array parameters arrive as arrays (the API's legacy normalisation does that)
    $param->{map} = [ $param->{map} ] if defined($param->{map}) && !ref($param->{map});
    eval { $info->{code}->($param) };
    return { error => err_text($@) } if $@;
    return { entry => plain_entry($FILES{'mapping/pci.cfg'}->{ids}->{ $c->{mapping} }) };
};

$KIND{assert_valid} = sub {
    my ($c) = @_;
    local $MACHINE = $c->{machine};
    my $entry = PVE::JSONSchema::parse_property_string(
        PVE::Mapping::PCI->private()->{propertyList}->{map}->{items}->{format}, $c->{map});
    eval { PVE::Mapping::PCI::assert_valid($c->{name}, $entry, { mdev => $c->{mdev} }) };
    return { error => err_text($@) } if $@;
    return { ok => 1 };
};

$KIND{tags} = sub {
    my ($c) = @_;
    %FILES = ('datacenter.cfg' => { ($c->{style} ? ('tag-style' => $c->{style}) : ()) });
    return { result => PVE::GuestHelpers::get_unique_tags($c->{tags}) };
};

# check_hostpci_perm is a lexical (`my sub`) of PVE/API2/Qemu.pm: find it in the closures
my $HOSTPCI_PERM;
sub find_lexical_sub {
    my ($code, $want, $depth, $seen) = @_;
    return undef if $depth > 4 || $seen->{$code}++;
    my $vars = PadWalker::closed_over($code);
    my $hit = $vars->{"&$want"};
    return $hit if ref($hit) eq 'CODE';
    return $$hit if ref($hit) eq 'REF' && ref($$hit) eq 'CODE';
    for my $v (values %$vars) {
        my $cand = (ref($v) eq 'REF' || ref($v) eq 'SCALAR') ? $$v : $v;
        next if ref($cand) ne 'CODE';
        my $found = find_lexical_sub($cand, $want, $depth + 1, $seen);
        return $found if $found;
    }
    return undef;
}

{
    package DiffRPCEnv; # permission checks pass: only the rule itself is under test
    sub new { return bless {}, shift }
    sub check_full { return 1 }
    sub check_vm_perm { return 1 }
    sub check { return 1 }
}

$KIND{hostpci_perm} = sub {
    my ($c) = @_;
    $HOSTPCI_PERM //= find_lexical_sub(
        PVE::API2::Qemu->map_method_by_name('create_vm')->{code}, 'check_hostpci_perm', 0, {});
    return { error => "check_hostpci_perm not found in PVE::API2::Qemu" } if !$HOSTPCI_PERM;
    eval { $HOSTPCI_PERM->(DiffRPCEnv->new, $c->{user}, 101, undef, $c->{opt}, $c->{value}) };
    return { error => err_text($@) } if $@;
    return { ok => 1 };
};

$KIND{parse_hostpci} = sub {
    my ($c) = @_;
    local $MACHINE = $c->{machine};
    local $NODE = $c->{node};
    %FILES = ('mapping/pci.cfg' => pci_cfg($c->{cfg} // ''));
    my $res = eval { PVE::QemuServer::PCI::parse_hostpci($c->{value}) };
    return { error => err_text($@) } if $@;
    return { ok => 1, ids => [ map { [ map { $_->{id} } @$_ ] } @{ $res->{ids} } ] };
};

$KIND{propstr} = sub {
    my ($c) = @_;
    eval { PVE::JSONSchema::parse_property_string($c->{format}, $c->{value}, $c->{path}) };
    return { error => err_text($@) } if $@;
    return { ok => 1 };
};

# USB: scan_usb's loop (its glob) over the caller's sysfs folder, the rest is Proxmox's code
our $SYSFS;
sub usb_list {
    my $list = [];
    PVE::SysFSTools::__scan_usb_device($list, $_, 0, 0) for glob("$SYSFS/usb*");
    return $list;
}
{
    no warnings qw(redefine once);
    *PVE::SysFSTools::scan_usb = \&usb_list;
}

$KIND{usb_scan} = sub {
    my ($c) = @_;
    local $SYSFS = $c->{sysfs};
    return { list => usb_list() };
};

$KIND{usb_assert_valid} = sub {
    my ($c) = @_;
    local $SYSFS = $c->{sysfs};
    my $entry = PVE::JSONSchema::parse_property_string(
        PVE::Mapping::USB->private()->{propertyList}->{map}->{items}->{format}, $c->{map});
    eval { PVE::Mapping::USB::assert_valid($c->{name}, $entry) };
    return { error => err_text($@) } if $@;
    return { ok => 1 };
};

$KIND{usb_parse_device} = sub {
    my ($c) = @_;
    local $SYSFS = $c->{sysfs};
    local $NODE = $c->{node};
    %FILES = ('mapping/usb.cfg' => PVE::Mapping::USB->parse_config('mapping/usb.cfg', $c->{cfg}));
    my $res = eval { PVE::QemuServer::USB::parse_usb_device(undef, $c->{mapping}) };
    return { error => err_text($@) } if $@;
    return { ok => 1, res => $res };
};

$KIND{hookscript} = sub {
    my ($c) = @_;
    my $cfg = PVE::Storage::Plugin->parse_config('storage.cfg', $c->{storage_cfg});
    # host access: parse_config pins 'local' to /var/lib/vz; its files live in the case's folder
    $cfg->{ids}->{$_}->{path} = $c->{paths}->{$_} for keys %{ $c->{paths} // {} };
    eval { PVE::GuestHelpers::check_hookscript($c->{volid}, $cfg) };
    return { error => err_text($@) } if $@;
    return { ok => 1 };
};

my $json = JSON->new->utf8->canonical->allow_nonref;
my $cases = $json->decode(do { local $/; <STDIN> });
my %out;
for my $c (@$cases) {
    my $fn = $KIND{ $c->{kind} } or die "unknown kind '$c->{kind}' in case $c->{id}\n";
    local $SIG{__WARN__} = sub { };
    my $r = eval { $fn->($c) };
    $r = { driver_error => "$@" } if $@;
    $out{ $c->{id} } = $r;
}
print $json->pretty->encode(\%out);
