"""No OPEN: reads go through the kernel's page cache, and every readable
inode is one immutable version of its content.

* A warm read of a host's files sends nothing to drukfs: no OPEN (the
  first one is answered ENOSYS, and the kernel never sends another), no
  READ, no LOOKUP (counted in .drukfs/stats: "fuse OPEN" ...).
* A changed record is read whole and new right after the change is
  known; a file held open keeps the version it was opened on, whole.
* While records change under concurrent readers, every read is one whole
  version of the record: the kernel's size of an inode and its bytes can
  never disagree.
* Generated files (doctor, .drukfs/stats) are made again for every cat.
"""

from __future__ import annotations

import os
import threading

from harness import MountTestCase, read_file

STATES = ("provisioning", "creating_network", "creating_vm", "bootstrapping",
          "active", "error")


def fuse(stats: dict, op: str) -> int:
    return stats[f"fuse {op}"]


class WarmReadTest(MountTestCase):
    SEED = 3
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def test_a_warm_read_of_every_file_sends_nothing(self):
        self.sh("find hosts -type f | xargs cat >/dev/null")
        first = self.mnt.stats()
        self.assertLessEqual(fuse(first, "OPEN"), 1, "only the first open is asked")
        res = self.sh("find hosts -type f | xargs cat | wc -c")
        self.assertEqual(res.returncode, 0, res)
        self.assertGreater(int(res.stdout), 3 * 500)
        again = self.mnt.stats()
        self.assertEqual(fuse(again, "OPEN"), fuse(first, "OPEN"))
        self.assertEqual(fuse(again, "READ") - fuse(first, "READ"), 1,
                         "pages were kept (one READ: .drukfs/stats itself)")
        # Entries were kept: the only lookups are of .drukfs/stats itself
        # (its entry is revalidated, and found changed, so looked up anew).
        self.assertLessEqual(fuse(again, "LOOKUP") - fuse(first, "LOOKUP"), 2)
        # The host directories' listings were kept too: the READDIRs are
        # hosts/ itself (one, and one more that finds the end), not one
        # per host directory.
        self.assertLessEqual(fuse(again, "READDIR") - fuse(first, "READDIR"), 2)

    def test_generated_files_are_made_for_every_cat(self):
        one = self.read(self.path(".drukfs", "stats"))
        two = self.read(self.path(".drukfs", "stats"))
        self.assertNotEqual(one, two, "stats counts its own lookups")
        self.assertTrue(self.read(self.path("doctor")).startswith("drukbox: ok"))
        self.srv.config(doctor_fail=["db"])
        self.mnt.refresh()
        self.assertTrue(self.read(self.path("doctor")).startswith("drukbox: FAIL"))


class VersionTest(MountTestCase):
    SEED = 1
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def test_a_change_is_read_whole_and_an_open_file_keeps_its_version(self):
        h = self.seeded[0]
        path = self.host(h, "state")
        self.assertEqual(self.read(path), "active\n")
        self.assertEqual(self.read(path), "active\n")      # now in the page cache
        fd = os.open(path, os.O_RDONLY)
        try:
            self.srv.patch_host(h, status="provisioning",
                                updated_at="2030-01-01T00:00:00+00:00")
            self.mnt.refresh()
            # A new open finds the new version, whole, and its size.
            self.assertEqual(self.read(path), "provisioning\n")
            self.assertEqual(os.stat(path).st_size, len("provisioning\n"))
            # The open file still reads the version it was opened on.
            self.assertEqual(os.pread(fd, 4096, 0), b"active\n")
            self.assertEqual(os.fstat(fd).st_size, len("active\n"))
        finally:
            os.close(fd)

    def test_reads_never_tear_while_the_record_changes(self):
        h = self.seeded[0]
        path = self.host(h, "state")
        json_path = self.host(h, "host.json")
        stop = threading.Event()
        bad: list = []
        count = [0]

        def reader() -> None:
            while not stop.is_set():
                try:
                    data = read_file(path).decode()
                    doc = read_file(json_path)
                except OSError as exc:
                    bad.append(f"errno {exc.errno}")
                    continue
                if data not in {s + "\n" for s in STATES}:
                    bad.append(repr(data))
                if not doc.endswith(b"}\n") and not doc.endswith(b"}"):
                    bad.append(repr(doc[-40:]))
                count[0] += 1

        threads = [threading.Thread(target=reader, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(40):
                # Sizes change every time: 'active' (7) <-> 'provisioning' (13).
                status = STATES[i % 2 * 4]
                self.srv.patch_host(h, status=status,
                                    updated_at=f"2030-01-01T00:00:{i:02d}+00:00")
                self.mnt.refresh()
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertEqual(bad[:10], [])
        self.assertGreater(count[0], 40)


class EntryTest(MountTestCase):
    """What a change costs the kernel's entries in hosts/.  Dropping the
    entry of hosts/X takes hosts/ exclusively, behind every lookup in flight
    there, so drukfs drops it only when what X names may have changed: the
    host went away, or it is new and the kernel may keep a negative entry
    for X.  A host that only changed keeps its entry; its files get new
    versions."""

    SEED = 1
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def lookups_during(self, fn) -> int:
        before = fuse(self.mnt.stats(), "LOOKUP")
        fn()
        return fuse(self.mnt.stats(), "LOOKUP") - before

    def test_a_changed_host_keeps_its_entry(self):
        h = self.seeded[0]
        state = self.host(h, "state")
        self.assertEqual(self.read(state), "active\n")
        # What reading .drukfs/stats itself costs in lookups.
        overhead = self.lookups_during(lambda: None)
        self.assertEqual(self.lookups_during(lambda: self.read(state)), overhead)
        self.srv.patch_host(h, status="provisioning",
                            updated_at="2030-01-01T00:00:00+00:00")
        self.mnt.refresh()
        got: list[str] = []
        # One lookup, of the new version of state; hosts/<id> is kept.
        self.assertEqual(self.lookups_during(lambda: got.append(self.read(state))),
                         overhead + 1)
        self.assertEqual(got, ["provisioning\n"])

    def test_a_host_gone_elsewhere_frees_its_name_at_once(self):
        # Deleted by another client: once the list lacks it the name is
        # free again, and a new mkdir makes a new host under it.
        self.mkdir_host("gone")
        self.assertEqual(self.read(self.host("gone", "wait")), "active\n")
        host_id = self.read(self.host("gone", "id")).strip()
        self.srv.remove_host(host_id)
        self.mnt.refresh()
        self.assertEqual(self.read(self.host(self.seeded[0], "state")), "active\n")
        self.wait_until(lambda: not os.path.exists(self.host("gone")), 3,
                        what="hosts/gone to go")
        self.mkdir_host("gone")
        self.assertEqual(self.read(self.host("gone", "wait")), "active\n")
        self.assertNotEqual(self.read(self.host("gone", "id")).strip(), host_id)

    def test_a_host_new_under_a_name_looked_up_before_shows_at_once(self):
        # The list lacks h and GET /hosts/{id} says 404: the kernel keeps
        # a negative entry for hosts/<h> for cache_ttl (30 s).
        h = self.srv.seed(1)[0]
        self.srv.config(unlisted=[h])
        self.srv.fault("GET /hosts/{id}", "status", count=-1, status=404,
                       body='{"detail": "host not found"}')
        self.mnt.refresh()
        self.assertFalse(os.path.exists(self.host(h)))
        self.srv.clear_faults()
        self.srv.config(unlisted=[])
        self.mnt.refresh()
        # Something reads: the list is fetched and has h.  (Not a listing
        # of hosts/, whose READDIRPLUS would replace the negative entry.)
        self.assertEqual(self.read(self.host(self.seeded[0], "state")), "active\n")
        self.wait_until(lambda: os.path.isdir(self.host(h)), 3,
                        what="hosts/<h> (the kernel's negative entry dropped)")
        self.assertEqual(self.read(self.host(h, "state")), "active\n")
