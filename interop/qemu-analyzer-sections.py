#!/usr/bin/env python3
# Runs QEMU's scripts/analyze-migration.py unchanged and records the section headers it decodes, which its
# own output only half shows (state.json names a section "IDSTR (SECTION_ID)", without instance or version).
# Usage: qemu-analyzer-sections.py HEADERS.json ANALYZER.py ARGS...   (ARGS as the analyzer takes them)
# HEADERS.json gets [{"id", "idstr", "instance", "version"}, ...] in stream order, written even when the
# analyzer fails; the exit status and traceback stay the analyzer's.
import json
import os
import runpy
import sys

headers_path, analyzer, args = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:]
headers = []


def on_call(frame, event, _arg):
    # A section object is built with (file, version_id, ..., section_key) by the loop over the stream's
    # records (the frame that holds section_type); subsections are built elsewhere and are not sections.
    if event != 'call' or frame.f_code.co_name != '__init__' or frame.f_code.co_filename != analyzer:
        return
    local, caller = frame.f_locals, frame.f_back
    if 'section_key' not in local or 'version_id' not in local or caller is None:
        return
    if 'section_type' not in caller.f_locals or 'section_id' not in caller.f_locals:
        return
    if caller.f_code.co_filename != analyzer:
        return
    name, instance = local['section_key']
    headers.append({'id': caller.f_locals['section_id'], 'idstr': name, 'instance': instance,
                    'version': local['version_id']})


sys.argv = [analyzer, *args]
sys.setprofile(on_call)
try:
    runpy.run_path(analyzer, run_name='__main__')
finally:
    sys.setprofile(None)
    with open(headers_path, 'w') as f:
        json.dump(headers, f)
