#!/bin/sh
# deps.sh - install the Debian packages rmmhunt needs, only those missing.
#
#   packaging/deps.sh build    what `make`, `make run` need
#   packaging/deps.sh test     what `make test`, `make fuzz`, `make bench` add
#   packaging/deps.sh deb      what `make deb` adds (debhelper, lintian...)
#
# Run as root on Debian 12.  Prints nothing and touches nothing when every
# package is already installed.
set -eu

build_packages="gcc make clang llvm pkg-config bpftool libbpf-dev libelf-dev
zlib1g-dev libjansson-dev libssl-dev libsqlite3-dev libyaml-dev
libcurl4-openssl-dev libmicrohttpd-dev libpq-dev libpcre2-dev openssl"

test_packages="libcmocka-dev python3 python3-pytest libclang-rt-14-dev
coreutils procps sqlite3 util-linux iproute2
wine wine64 gcc-mingw-w64-x86-64-win32 gcc-mingw-w64-i686-win32
python3-pefile libimage-exiftool-perl golang-go ntfs-3g git python3-yaml
unicode-data openssl bc valgrind postgresql"

deb_packages="debhelper dpkg-dev fakeroot help2man lintian man-db"

case "${1:-build}" in
build) wanted="$build_packages" ;;
test) wanted="$build_packages $test_packages $deb_packages" ;;
deb) wanted="$build_packages $deb_packages" ;;
*)
	echo "usage: $0 build|test|deb" >&2
	exit 2
	;;
esac

missing=""
for package in $wanted; do
	status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $package" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root (apt-get install) or install them yourself" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q $missing
