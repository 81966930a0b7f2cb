/* pagerace HTML report: the whole view is built from the JSON result embedded in
 * the page's application/json script element "pagerace-data" (report/json.py).
 * Data is only ever set as text (textContent), never parsed as markup.
 */
(function () {
  "use strict";

  var DATA;
  try {
    DATA = JSON.parse(document.getElementById("pagerace-data").textContent);
  } catch (err) {
    document.getElementById("app").textContent = "pagerace report: the embedded result is not valid JSON (" + err + ")";
    return;
  }

  // ---------------------------------------------------------------- helpers --
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function hex(v) { return "0x" + v.toString(16); }
  function hex16(v) { return "0x" + v.toString(16).padStart(16, "0"); }
  function frameKey(v) { return "0x" + BigInt(v).toString(16); }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  // ------------------------------------------------- steps and mm.c lines --
  // DATA.steps explains every label of the traces (report/trace.py describe_steps);
  // DATA.xen_source says which mm.c the steps' "lines" are lines of.
  var STEPS = DATA.steps || {};
  var SOURCE = DATA.xen_source || null;
  function stepKey(label) { return String(label || "").split(":")[0]; }
  function linesText(lines) { return lines && lines.length ? lines.join(",") : ""; }
  function whereText(s) {
    var l = linesText(s.lines);
    return (s["function"] || "") + (l ? ":" + l : "");
  }
  function sourceText() {
    if (!SOURCE || !SOURCE.commit) return "";
    return SOURCE.file + " at " + SOURCE.commit.slice(0, 10) + " (" + SOURCE.variant + ")";
  }
  // One label as a link to its description (a popover; the glossary without script).
  function labelLink(label, cls) {
    var key = stepKey(label);
    if (!label || !STEPS[key]) return el("span", cls, label || "\u00b7");
    var a = el("a", cls + " step-link", label);
    a.href = "#step-" + key;
    a.dataset.step = key;
    a.title = STEPS[key].does;
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      showStep(key, a);
    });
    return a;
  }
  function labelLinks(labels, cls) {
    var box = el("span", cls + "-group");
    String(labels || "").split("/").forEach(function (l, i) {
      if (i) add(box, "/");
      add(box, labelLink(l, cls));
    });
    return box;
  }
  function stepInfo(key) {
    var d = STEPS[key];
    var box = el("div", "step-info");
    add(box, add(el("div", "si-head"), el("span", "label", key), el("span", "fn", d["function"])));
    add(box, el("p", "si-does", d.does));
    var kv = el("dl", "sd-kv");
    function pair(k, v) { if (v) add(kv, el("dt", null, k), el("dd", null, v)); }
    pair("reads", d.reads);
    pair("writes", d.writes);
    pair("mm.c line", linesText(d.lines) + (sourceText() ? " in " + sourceText() : ""));
    var others = Object.keys(d.at || {}).filter(function (v) { return !SOURCE || v !== SOURCE.variant; })
      .map(function (v) { return v + " " + (linesText(d.at[v]) || "\u2013"); });
    pair("other versions", others.join(", "));
    add(box, kv);
    return box;
  }
  function hideStep() {
    var pop = document.getElementById("step-pop");
    if (pop) pop.hidden = true;
  }
  function showStep(key, anchor) {
    if (!STEPS[key]) return;
    var pop = document.getElementById("step-pop");
    if (!pop) {
      pop = el("div", "step-pop");
      pop.id = "step-pop";
      pop.setAttribute("role", "dialog");
      document.body.appendChild(pop);
    }
    pop.textContent = "";
    var close = el("button", "pop-close", "\u00d7");
    close.type = "button";
    close.title = "close (Esc)";
    close.addEventListener("click", hideStep);
    add(pop, close, stepInfo(key));
    pop.dataset.step = key;
    pop.hidden = false;
    var r = anchor && anchor.getBoundingClientRect ? anchor.getBoundingClientRect() : {left: 40, bottom: 80};
    pop.style.left = Math.max(8, Math.min(r.left, window.innerWidth - pop.offsetWidth - 8)) + "px";
    var top = r.bottom + 4;
    if (top + pop.offsetHeight > window.innerHeight - 8) top = Math.max(8, r.top - pop.offsetHeight - 4);
    pop.style.top = top + "px";
  }
  document.addEventListener("click", function (ev) {
    var pop = document.getElementById("step-pop");
    if (!pop || pop.hidden) return;
    var t = ev.target;
    if (pop.contains(t) || (t.classList && t.classList.contains("step-link"))) return;
    hideStep();
  });

  // -------------------------------------------------------------- geometry --
  var ENTRIES = DATA.entries || 512;
  var BITS = BigInt(Math.round(Math.log2(ENTRIES)));
  var IDX_MASK = BigInt(ENTRIES - 1);
  function shift(level) { return 12n + BITS * BigInt(level - 1); }
  function span(level) { return 1n << shift(level); }
  function tableIndex(va, level) { return Number((va >> shift(level)) & IDX_MASK); }
  var SIZE_NAMES = {2: "2M", 3: "1G"};
  function sizeName(level) {
    if (ENTRIES === 512) return SIZE_NAMES[level] || "4K";
    return "L" + level + " page";
  }

  // ------------------------------------------------------------ PTE decoding --
  var ADDR_MASK = 0x000ffffffffff000n;
  var FLAG_BITS = [[0n, "P"], [1n, "RW"], [2n, "US"], [3n, "PWT"], [4n, "PCD"], [5n, "A"],
                   [6n, "D"], [7n, "PSE"], [8n, "G"], [63n, "NX"]];
  function decodePte(value, level) {
    var v = BigInt(value);
    var present = (v & 1n) === 1n;
    var psebit = ((v >> 7n) & 1n) === 1n;
    var pse = (level === 2 || level === 3) && psebit;
    var flags = [];
    FLAG_BITS.forEach(function (fb) {
      if ((v >> fb[0]) & 1n) flags.push(fb[0] === 7n && level === 1 ? "PAT" : fb[1]);
    });
    return {
      value: v,
      present: present,
      pse: pse,
      leaf: present && (level === 1 || pse),
      table: present && level >= 2 && !pse,
      mfn: (v & ADDR_MASK) >> 12n,
      flags: flags,
    };
  }

  // ---------------------------------------------------------- page-table state --
  function initialState() {
    var tables = new Map();
    var init = DATA.initial || {root: "0x0", tables: {}, tlbs: []};
    Object.keys(init.tables).forEach(function (f) {
      var t = init.tables[f];
      var entries = new Map();
      Object.keys(t.entries).forEach(function (i) { entries.set(Number(i), BigInt(t.entries[i])); });
      tables.set(frameKey(f), {frame: frameKey(f), level: t.level, gen: t.gen, state: "live",
                               entries: entries, freedAt: null, allocAt: null, publishedAt: null});
    });
    var ncpu = cpuCount();
    var tlbs = [];
    for (var c = 0; c < ncpu; c++) {
      tlbs.push(((init.tlbs || [])[c] || []).map(function (e) {
        return {va: BigInt(e.va), level: e.level, mfn: BigInt(e.mfn), flags: BigInt(e.flags), at: null};
      }));
    }
    var refs = [];
    for (c = 0; c < ncpu; c++) refs.push(new Map());
    return {root: frameKey(init.root), tables: tables, tlbs: tlbs, refs: refs, wild: []};
  }

  function cpuCount() {
    var n = (DATA.cpus || []).length;
    (DATA.findings || []).forEach(function (f) {
      (f.trace || []).forEach(function (s) { if (s.cpu + 1 > n) n = s.cpu + 1; });
    });
    ((DATA.initial || {}).tlbs || []).forEach(function (_t, i) { if (i + 1 > n) n = i + 1; });
    return Math.max(n, 1);
  }

  function walk(state, va) {
    var rows = [];
    var frame = state.root;
    for (var level = 4; level >= 1; level--) {
      var t = state.tables.get(frame);
      if (!t) { rows.push({level: level, frame: frame, missing: true}); break; }
      var idx = tableIndex(va, level);
      var v = t.entries.get(idx) || 0n;
      var d = decodePte(v, level);
      rows.push({level: level, table: t, index: idx, d: d});
      if (!d.present || d.leaf) break;
      frame = frameKey(d.mfn);
    }
    return rows;
  }

  function translate(state, va) {
    var rows = walk(state, va);
    var last = rows[rows.length - 1];
    if (!last || last.missing || !last.d.leaf) return null;
    var off = (va & (span(last.level) - 1n)) >> 12n;
    return {level: last.level, mfn: last.d.mfn + off, flags: last.d.value & ~ADDR_MASK};
  }

  function flushTlb(tlb, va, flags) {
    if (!(flags & 0x300)) return tlb;  // neither FLUSH_TLB nor FLUSH_TLB_GLOBAL
    var order = (flags - 1) & 0xff;
    if (order !== 0) return [];
    return tlb.filter(function (e) { return !(e.va <= va && va < e.va + span(e.level)); });
  }

  function applyStep(state, s) {
    var t;
    switch (s.op) {
      case "load": {
        var lvl = s.table_level;
        if (lvl && lvl >= 2 && s.value) {
          var d = decodePte(s.value, lvl);
          if (d.table) {
            var target = frameKey(d.mfn);
            var tt = state.tables.get(target);
            state.refs[s.cpu].set(target, {frame: target, level: lvl - 1, gen: tt ? tt.gen : null,
                                           liveWhenRead: !!tt && tt.state !== "free", at: s.index});
          }
        }
        break;
      }
      case "store": {
        t = state.tables.get(s.frame);
        if (t) {
          var nv = BigInt(s["new"]);
          if (nv === 0n) t.entries["delete"](s.entry); else t.entries.set(s.entry, nv);
          t.lastStore = s.index;
        } else if (s.frame_state === "data" || s.frame_state === "frame 0") {
          state.wild.push(s);
        }
        if (s.child) {
          var pd = decodePte(s["new"], s.table_level || 1);
          var ck = frameKey(pd.mfn);
          var ct = state.tables.get(ck);
          if (!ct) {
            ct = {frame: ck, level: (s.table_level || 2) - 1, gen: null, state: "live",
                  entries: new Map(), freedAt: null, allocAt: null, publishedAt: null};
            state.tables.set(ck, ct);
          }
          ct.entries = new Map();
          Object.keys(s.child).forEach(function (i) { ct.entries.set(Number(i), BigInt(s.child[i])); });
          if (ct.state === "private") ct.state = "live";
          ct.publishedAt = s.index;
        }
        break;
      }
      case "alloc":
        if (s.frame) {
          t = state.tables.get(s.frame);
          if (!t) {
            t = {frame: s.frame, level: s.table_level, gen: 0, state: "private", entries: new Map(),
                 freedAt: null, allocAt: null, publishedAt: null};
            state.tables.set(s.frame, t);
          }
          t.level = s.table_level;
          t.gen = s.gen !== undefined && s.gen !== null ? s.gen : (t.gen || 0) + 1;
          t.state = "private";
          t.allocAt = s.index;
          t.freedAt = null;
        }
        break;
      case "free":
        t = state.tables.get(s.frame);
        if (!t) {
          t = {frame: s.frame, level: s.table_level, gen: s.gen, state: "free", entries: new Map(),
               freedAt: null, allocAt: null, publishedAt: null};
          state.tables.set(s.frame, t);
        }
        t.gen = (s.gen !== undefined && s.gen !== null ? s.gen : t.gen || 0) + 1;
        t.state = "free";
        t.freedAt = s.index;
        t.freedBy = s.cpu;
        break;
      case "flush": {
        var va = BigInt(s.va);
        var cpus = s.cpus || state.tlbs.map(function (_x, i) { return i; });
        cpus.forEach(function (c) {
          if (state.tlbs[c]) state.tlbs[c] = flushTlb(state.tlbs[c], va, s.flags);
        });
        break;
      }
      case "access":
        if (s.mfn && s.level) {
          var ava = BigInt(s.va);
          var base = ava & ~(span(s.level) - 1n);
          var first = BigInt(s.mfn) - ((ava - base) >> 12n);
          var now = translate(state, ava);
          var flags = now && now.level === s.level ? now.flags : null;
          var tlb = state.tlbs[s.cpu].filter(function (e) { return !(e.level === s.level && e.va === base); });
          tlb.push({va: base, level: s.level, mfn: first, flags: flags, at: s.index});
          state.tlbs[s.cpu] = tlb;
        }
        break;
      default:
        break;
    }
  }

  function stateAt(trace, pos) {
    var state = initialState();
    for (var i = 0; i <= pos && i < trace.length; i++) applyStep(state, trace[i]);
    return state;
  }

  // ------------------------------------------------ virtual addresses touched --
  function touchedAddresses(trace) {
    var out = [];
    var seen = new Set();
    function addVa(text, who) {
      var m = /^([a-z_0-9]+)\((0x[0-9a-f]+)/i.exec(text || "");
      if (!m) return;
      var va = BigInt(m[2]);
      if (seen.has(va)) {
        var known = out.filter(function (o) { return o.va === va; })[0];
        if (known.what.indexOf(who + ": ") < 0) known.what += "; " + who + ": " + text;
        return;
      }
      seen.add(va);
      out.push({va: va, what: who + ": " + text});
    }
    (DATA.cpus || []).forEach(function (ops, c) {
      ops.forEach(function (text) { addVa(text, "CPU" + c); });
    });
    (trace || []).forEach(function (s) {
      if (s.op === "call") addVa(s.text, "CPU" + s.cpu);
      if (s.op === "access" && s.va) addVa("access(" + hex(BigInt(s.va)) + ")", "CPU" + s.cpu);
    });
    return out;
  }

  // --------------------------------------------------- folding of long loops --
  // Mirrors report/text.py collapse(): a CPU re-reading the same entry with the same
  // value (the shatter fill loop M6.6/M6.7, X2.3, X4.4); runs of 4 or more fold.
  function foldRuns(trace, failPos) {
    var runs = [];
    trace.forEach(function (s, pos) {
      var last = runs.length ? runs[runs.length - 1] : null;
      // the failing step always stands alone
      if (last && pos !== failPos && last.to !== failPos) {
        var f = trace[last.from];
        if (s.cpu === f.cpu && s.op === "load" && f.op === "load" && s.frame === f.frame &&
            s.entry === f.entry && s.value === f.value && s.frame_state === f.frame_state &&
            !s.preempted) {
          last.to = pos;
          return;
        }
      }
      runs.push({from: pos, to: pos});
    });
    var items = [];
    runs.forEach(function (r) {
      if (r.to - r.from + 1 >= 4) {
        items.push({kind: "group", from: r.from, to: r.to, expanded: false});
      } else {
        for (var q = r.from; q <= r.to; q++) items.push({kind: "step", pos: q});
      }
    });
    return items;
  }

  function groupLabels(trace, g) {
    var labels = [];
    for (var p = g.from; p <= g.to; p++) {
      var l = trace[p].step;
      if (l && labels.indexOf(l) < 0) labels.push(l);
    }
    return labels.join("/");
  }
  // The function and the mm.c lines of every step of a folded loop (M6.6 and M6.7).
  function groupWhere(trace, g) {
    var lines = [];
    for (var p = g.from; p <= g.to; p++) {
      (trace[p].lines || []).forEach(function (n) { if (lines.indexOf(n) < 0) lines.push(n); });
    }
    lines.sort(function (a, b) { return a - b; });
    return whereText({"function": trace[g.from]["function"], lines: lines});
  }

  // ------------------------------------------------------------ lock bands --
  function lockHoldings(trace, ncpu) {
    var held = [];
    for (var c = 0; c < ncpu; c++) held.push(new Set());
    return trace.map(function (s) {
      if (s.op === "lock" && held[s.cpu]) held[s.cpu].add(s.lock);
      var snap = held.map(function (h) { return Array.from(h); });
      if (s.op === "unlock" && held[s.cpu]) held[s.cpu]["delete"](s.lock);
      return snap;
    });
  }
  function lockClass(locks) {
    var cls = [];
    if (locks.some(function (l) { return l === "map_pgdir_lock"; })) cls.push("hold-pgdir");
    if (locks.some(function (l) { return l.indexOf("l3t") === 0; })) cls.push("hold-l3t");
    if (locks.some(function (l) { return l !== "map_pgdir_lock" && l.indexOf("l3t") !== 0; })) cls.push("hold-other");
    return cls.join(" ");
  }

  // ---------------------------------------------------------------- header --
  var app = document.getElementById("app");
  app.textContent = "";
  var NCPU = cpuCount();

  function metaItem(label, value, cls) {
    var d = el("div", "meta-item" + (cls ? " " + cls : ""));
    add(d, el("span", "meta-label", label), el("span", "meta-value", value));
    return d;
  }

  function expectationText() {
    if (DATA.expected === null || DATA.expected === undefined) return ["none", ""];
    var want = DATA.expected.length ? DATA.expected.join(", ") : "clean";
    var met = DATA.meets_expectation;
    return [want + (met === true ? "  \u2713 met" : met === false ? "  \u2717 not met" : ""),
            met === true ? "ok" : met === false ? "bad" : ""];
  }

  function buildHeader() {
    var header = el("header", "page-header");
    var top = el("div", "title-row");
    var h1 = el("h1", "title");
    add(h1, el("span", "brand", "pagerace"), el("span", "scenario-name", DATA.scenario || "(unnamed)"));
    var status = String(DATA.status || "");
    add(top, h1, el("span", "status status-" + status.replace(/[^a-z]/g, ""), status || "?"),
        el("span", "variant", DATA.variant || ""));
    add(header, top);
    if (DATA.description) {
      var desc = el("p", "description clamped", DATA.description);
      desc.title = "click to show all";
      desc.addEventListener("click", function () { desc.classList.toggle("clamped"); });
      add(header, desc);
    }
    var meta = el("div", "meta");
    var st = DATA.stats || {};
    var exp = expectationText();
    add(meta,
        metaItem("source", DATA.source || ""),
        metaItem("variant", DATA.variant || ""),
        metaItem("strategy", (DATA.strategy || "") + (DATA.preemption_bound !== null && DATA.preemption_bound !== undefined ? " (preemption bound " + DATA.preemption_bound + ")" : "")),
        metaItem("entries", String(DATA.entries) + (DATA.page1gb ? ", 1G pages" : "")),
        metaItem("executions", st.executions !== undefined ? String(st.executions) : "?"),
        metaItem("time", st.seconds !== undefined ? st.seconds + " s" : "?"),
        metaItem("expectation", exp[0], exp[1]));
    add(header, meta);

    var ops = el("details", "ops");
    add(ops, el("summary", null, "operations: " + plural((DATA.cpus || []).length, "CPU") +
                ", " + plural((DATA.setup || []).length, "set-up step")));
    var opl = el("div", "ops-list");
    (DATA.setup || []).forEach(function (t) { add(opl, add(el("div", "op-line"), el("span", "who", "setup"), el("code", null, t))); });
    (DATA.cpus || []).forEach(function (list, c) {
      list.forEach(function (t) { add(opl, add(el("div", "op-line"), el("span", "who cpu-fg-" + (c % 6), "CPU" + c), el("code", null, t))); });
    });
    add(ops, opl);
    add(header, ops);
    var keys = Object.keys(STEPS);
    if (keys.length) {
      var gl = el("details", "glossary");
      gl.id = "glossary";
      add(gl, el("summary", null, "step labels: " + plural(keys.length, "step") + " of these traces" +
                 (sourceText() ? ", lines of " + sourceText() : "")));
      var tbl = el("table", "glossary-table");
      keys.forEach(function (k) {
        var d = STEPS[k];
        var tr = el("tr", "glossary-row");
        tr.id = "step-" + k;
        add(tr, el("td", "label", k), el("td", "fn", d["function"] + (linesText(d.lines) ? ":" + linesText(d.lines) : "")),
            el("td", "g-does", d.does));
        add(tbl, tr);
      });
      add(gl, tbl);
      add(header, gl);
    }
    return header;
  }

  function buildFindingsList() {
    var nav = el("nav", "findings");
    var list = DATA.findings || [];
    add(nav, el("span", "findings-title", list.length ? plural(list.length, "finding") : "no findings"));
    var ul = el("ul", "finding-list");
    list.forEach(function (f, i) {
      var li = el("li", "finding-item");
      li.dataset.finding = String(i);
      li.tabIndex = 0;
      add(li, el("span", "kind kind-" + String(f.kind).replace(/[^a-z-]/g, ""), kindText(f)),
          el("span", "finding-msg", f.message));
      li.title = f.message;
      li.addEventListener("click", function () { selectFinding(i); });
      li.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); ev.stopPropagation(); selectFinding(i); }
      });
      add(ul, li);
    });
    add(nav, ul);
    return nav;
  }

  // ------------------------------------------------------------ timeline --
  var view = {finding: -1, trace: [], items: [], pos: -1, fail: -1, rows: new Map(), groupRows: new Map()};

  function opChip(op) { return el("span", "op op-" + op.replace(/[^a-z]/g, ""), op); }
  function tableName(level, frame, gen) {
    return (level ? "L" + level + " " : "") + frame + (gen !== null && gen !== undefined ? "\u00b7g" + gen : "");
  }

  function stepSummary(s) {
    var box = el("div", "detail");
    switch (s.op) {
      case "load":
        add(box, el("span", "where", tableName(s.table_level, s.frame, s.gen) + "[" + s.entry + "]"),
            s.frame_state && s.frame_state !== "table" ? el("span", "badge badge-" + s.frame_state.replace(/[^a-z]/g, ""), s.frame_state === "free" ? "freed" : s.frame_state) : null,
            " = ", el("span", "val", s.decoded));
        box.title = s.value + "  " + s.text;
        break;
      case "store":
        add(box, el("span", "where", tableName(s.table_level, s.frame, s.gen) + "[" + s.entry + "]"),
            s.frame_state && s.frame_state !== "table" ? el("span", "badge badge-" + s.frame_state.replace(/[^a-z]/g, ""), s.frame_state === "free" ? "freed" : s.frame_state) : null,
            " := ", el("span", "val new", s.decoded_new), el("span", "old", " (was " + s.decoded_old + ")"));
        if (s.child) add(box, el("span", "publish", " publishes a table of " + plural(Object.keys(s.child).length, "entry").replace(/entrys$/, "entries")));
        box.title = s.old + " -> " + s["new"] + "  " + s.text;
        break;
      case "scan":
        add(box, "all entries of ", el("span", "where", tableName(s.table_level, s.frame, s.gen)),
            s.frame_state && s.frame_state !== "table" ? el("span", "badge badge-" + s.frame_state.replace(/[^a-z]/g, ""), s.frame_state === "free" ? "freed" : s.frame_state) : null);
        break;
      default:
        add(box, el("span", "text", s.text));
    }
    return box;
  }

  function stepCell(s, count, labels, where) {
    var cell = el("div", "cell-inner");
    if (s.op === "call" || s.op === "return") {
      add(cell, add(el("div", "call-line"), el("span", "call-arrow", s.op === "call" ? "\u25b6 " : "\u25c0 "),
                    el("span", "call-text", s.text)));
      return cell;
    }
    var head = el("div", "head");
    add(head, labelLinks(labels || s.step, "label"), opChip(s.op), el("span", "fn", where || whereText(s)));
    if (count > 1) add(head, el("span", "times", "\u00d7" + count));
    add(cell, head, stepSummary(s));
    return cell;
  }

  function buildTimeline(container) {
    container.textContent = "";
    view.rows = new Map();
    view.groupRows = new Map();
    var trace = view.trace;
    var holding = lockHoldings(trace, NCPU);
    var table = el("table", "timeline");
    var thead = el("thead");
    var hr = el("tr");
    add(hr, el("th", "idx", "#"));
    for (var c = 0; c < NCPU; c++) add(hr, el("th", "cpu-head cpu-bg-" + (c % 6), "CPU" + c));
    add(thead, hr);
    var tbody = el("tbody");
    var prevCpu = null;
    var failPos = view.fail;
    var finding = DATA.findings[view.finding];

    function row(pos, count, group) {
      var s = trace[pos];
      if (s.preempted && prevCpu !== null && (!group || true)) {
        var pr = el("tr", "preempt-row");
        var td = el("td", null);
        td.colSpan = NCPU + 1;
        add(td, el("span", "preempt-mark", "\u21af preemption: CPU" + prevCpu + " \u2192 CPU" + s.cpu));
        add(pr, td);
        add(tbody, pr);
      }
      prevCpu = s.cpu;
      var tr = el("tr", "step op-row-" + s.op + (group ? " group" : "") + (pos === failPos ? " failing" : "") + (s.preempted ? " preempted" : ""));
      tr.dataset.index = String(s.index);
      tr.dataset.pos = String(pos);
      add(tr, el("td", "idx", group ? s.index + "\u2013" + trace[group.to].index : String(s.index)));
      var locks = holding[pos];
      for (var c = 0; c < NCPU; c++) {
        var td2 = el("td", "cpu-cell cpu-col-" + (c % 6) + " " + lockClass(locks[c] || []));
        if ((locks[c] || []).length) td2.title = "CPU" + c + " holds " + locks[c].join(", ");
        if (c === s.cpu) {
          td2.classList.add("active");
          var inner = stepCell(s, count, group ? groupLabels(trace, group) : null,
                               group ? groupWhere(trace, group) : null);
          if (group) {
            var tog = el("button", "fold-toggle", group.expanded ? "\u25be collapse" : "\u25b8 loop of " + count + " identical reads: expand");
            tog.type = "button";
            tog.addEventListener("click", function (ev) { ev.stopPropagation(); toggleGroup(group); });
            add(inner, tog);
          }
          if (s.preempted) add(inner.firstChild, el("span", "badge badge-preempt", "preempted"));
          if (pos === failPos && finding) add(inner, el("div", "fail-msg", "\u2716 " + finding.kind + ": " + finding.message));
          add(td2, inner);
        }
        add(tr, td2);
      }
      tr.addEventListener("click", function () { select(pos, group || null); });
      add(tbody, tr);
      return tr;
    }

    view.items.forEach(function (it) {
      if (it.kind === "group") {
        var gr = row(it.from, it.to - it.from + 1, it);
        view.groupRows.set(it, gr);
        if (it.expanded) {
          for (var p = it.from; p <= it.to; p++) {
            var r = row(p, 1, null);
            r.classList.add("in-group");
            view.rows.set(p, r);
          }
        }
      } else {
        view.rows.set(it.pos, row(it.pos, 1, null));
      }
    });
    add(table, thead, tbody);
    add(container, table);
  }

  function toggleGroup(group) {
    group.expanded = !group.expanded;
    buildTimeline(document.getElementById("timeline"));
    if (view.pos >= group.from && view.pos <= group.to) {
      select(group.expanded ? view.pos : group.to, group.expanded ? null : group);
    } else {
      highlight();
    }
  }

  // Selectable rows in display order: a folded loop is one row (its last step).
  function navRows() {
    var out = [];
    view.items.forEach(function (it) {
      if (it.kind === "group") {
        out.push({pos: it.to, group: it});
        if (it.expanded) for (var p = it.from; p <= it.to; p++) out.push({pos: p, group: null});
      } else {
        out.push({pos: it.pos, group: null});
      }
    });
    return out;
  }

  function groupOf(pos) {
    for (var i = 0; i < view.items.length; i++) {
      var it = view.items[i];
      if (it.kind === "group" && pos >= it.from && pos <= it.to) return it;
    }
    return null;
  }

  var selectedGroup = null;
  function select(pos, group) {
    if (!view.trace.length) return;
    pos = Math.max(0, Math.min(view.trace.length - 1, pos));
    if (group === undefined) {
      var g = groupOf(pos);
      group = g && !g.expanded ? g : null;
      if (group) pos = group.to;
    }
    view.pos = pos;
    selectedGroup = group;
    highlight();
    renderState();
  }

  function highlight() {
    document.querySelectorAll("tr.selected").forEach(function (r) { r.classList.remove("selected"); });
    var tr = selectedGroup ? view.groupRows.get(selectedGroup) : view.rows.get(view.pos);
    if (tr) {
      tr.classList.add("selected");
      if (tr.scrollIntoView) tr.scrollIntoView({block: "nearest"});
    }
  }

  function move(delta) {
    var rows = navRows();
    var cur = -1;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].pos === view.pos && rows[i].group === selectedGroup) { cur = i; break; }
    }
    var next = cur < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, cur + delta));
    if (rows[next]) select(rows[next].pos, rows[next].group);
  }

  // --------------------------------------------------------- state panel --
  function flagChips(d, level) {
    var box = el("span", "flags");
    d.flags.forEach(function (f) { add(box, el("span", "flag flag-" + f.toLowerCase(), f)); });
    if (level >= 2 && level <= 3 && d.pse) add(box, el("span", "flag size", sizeName(level)));
    return box;
  }

  function entryTarget(state, d, level) {
    // what an entry points at: a table (live/freed/private/unknown) or a leaf
    if (!d.present) return {kind: d.value === 0n ? "empty" : "not-present"};
    if (d.leaf) return {kind: "leaf"};
    var key = frameKey(d.mfn);
    var t = state.tables.get(key);
    if (!t) return {kind: "not-table", frame: key};
    if (t.state === "free") return {kind: "freed", frame: key, table: t};
    if (t.level !== level - 1) return {kind: "wrong-level", frame: key, table: t};
    return {kind: "table", frame: key, table: t};
  }

  function entryRow(state, t, idx, v, touched) {
    var d = decodePte(v, t.level);
    var tgt = entryTarget(state, d, t.level);
    var tr = el("tr", "entry" + (touched ? " touched" : "") + " target-" + tgt.kind);
    tr.dataset.entry = String(idx);
    add(tr, el("td", "e-idx", String(idx)), el("td", "e-hex", hex16(v)));
    var desc = el("td", "e-desc");
    if (tgt.kind === "empty") add(desc, el("span", "muted", "0"));
    else if (tgt.kind === "not-present") add(desc, el("span", "muted", "not present"));
    else if (tgt.kind === "leaf") add(desc, el("span", "mfn", "mfn " + hex(d.mfn)), " ", flagChips(d, t.level));
    else {
      var label = tgt.kind === "freed" ? "\u2192 FREED " + tableName(tgt.table.level, tgt.frame, tgt.table.gen)
        : tgt.kind === "not-table" ? "\u2192 " + tgt.frame + " (not a table)"
        : tgt.kind === "wrong-level" ? "\u2192 " + tableName(tgt.table.level, tgt.frame, tgt.table.gen) + " (wrong level)"
        : "\u2192 " + tableName(tgt.table.level, tgt.frame, tgt.table.gen);
      add(desc, el("span", "ptr" + (tgt.kind !== "table" ? " bad" : ""), label), " ", flagChips(d, t.level));
      if (tgt.kind === "freed") tr.title = "stale reference: frame " + tgt.frame + " was freed at step #" + tgt.table.freedAt;
    }
    add(tr, desc);
    return tr;
  }

  var showAll = new Set();
  function tableCard(state, t, interesting, selStep) {
    var card = el("div", "table-card level-" + t.level + (t.state === "free" ? " freed" : "") + (t.state === "private" ? " private" : ""));
    card.dataset.frame = t.frame;
    card.dataset.state = t.state;
    var h = el("div", "card-head");
    add(h, el("span", "card-title", tableName(t.level, t.frame, t.gen)), el("span", "card-sub", t.frame === state.root ? "root" : ""));
    if (t.state === "free") add(h, el("span", "badge badge-free", "freed at #" + t.freedAt));
    if (t.state === "private") add(h, el("span", "badge badge-private", "private (allocated at #" + t.allocAt + ")"));
    if (t.publishedAt !== null && t.publishedAt !== undefined) add(h, el("span", "badge badge-pub", "published at #" + t.publishedAt));
    add(card, h);
    if (t.state === "private") {
      add(card, el("p", "note", "Filled privately before publication; its entries are known when a store publishes it."));
      return card;
    }
    var selEntry = selStep && (selStep.op === "load" || selStep.op === "store") && selStep.frame === t.frame ? selStep.entry : null;
    // small tables: every non-zero entry; 512-entry tables: the entries the trace or
    // the walks touch (all of them on request)
    var all = showAll.has(t.frame);
    var idxs = [];
    if (all) {
      for (var i = 0; i < ENTRIES; i++) idxs.push(i);
    } else {
      var set = new Set(interesting.get(t.frame) || []);
      if (ENTRIES <= 16) t.entries.forEach(function (_v, k) { set.add(k); });
      if (selEntry !== null) set.add(selEntry);
      idxs = Array.from(set).sort(function (a, b) { return a - b; });
    }
    var tbl = el("table", "entries");
    idxs.forEach(function (i) {
      add(tbl, entryRow(state, t, i, t.entries.get(i) || 0n, i === selEntry));
    });
    add(card, tbl);
    if (idxs.length < ENTRIES || all) {
      var more = el("button", "show-all", all ? "show fewer" : "all " + ENTRIES + " (" + t.entries.size + " non-zero)");
      more.type = "button";
      more.title = all ? "show only the entries this trace touches" : "show every entry of this table";
      more.addEventListener("click", function () {
        if (all) showAll["delete"](t.frame); else showAll.add(t.frame);
        renderState();
      });
      add(h, more);
    }
    return card;
  }

  function walkView(state, target) {
    var box = el("div", "walk");
    add(box, add(el("div", "walk-head"), el("code", "va", hex(target.va)), el("span", "who", target.what)));
    var rows = walk(state, target.va);
    var ol = el("ol", "walk-path");
    rows.forEach(function (r) {
      var li = el("li", "walk-step");
      if (r.missing) {
        li.classList.add("bad");
        add(li, el("span", "lvl", "L" + r.level), el("span", null, r.frame + " is not a known table"));
      } else {
        var d = r.d;
        var tgt = entryTarget(state, d, r.level);
        if (r.table.state === "free") li.classList.add("in-freed");
        if (tgt.kind === "freed" || tgt.kind === "not-table" || tgt.kind === "wrong-level") li.classList.add("bad");
        add(li, el("span", "lvl", "L" + r.level),
            el("span", "tbl" + (r.table.state === "free" ? " freed-ref" : ""), tableName(null, r.table.frame, r.table.gen) + "[" + r.index + "]"),
            r.table.state === "free" ? el("span", "badge badge-free", "freed") : null);
        if (!d.present) add(li, el("span", "muted", d.value === 0n ? " empty" : " not present"));
        else if (d.leaf) add(li, el("span", "mfn", " mfn " + hex(d.mfn)), " ", flagChips(d, r.level));
        else add(li, el("span", "ptr" + (tgt.kind !== "table" ? " bad" : ""), " \u2192 " + (tgt.kind === "freed" ? "FREED " : "") + frameKey(d.mfn)));
      }
      add(ol, li);
    });
    add(box, ol);
    return box;
  }

  function refsView(state) {
    var box = el("div", "refs");
    var any = false;
    state.refs.forEach(function (m, c) {
      var list = Array.from(m.values()).sort(function (a, b) { return b.level - a.level; });
      if (!list.length) return;
      any = true;
      var line = el("div", "ref-line");
      add(line, el("span", "who cpu-fg-" + (c % 6), "CPU" + c));
      list.forEach(function (r) {
        var t = state.tables.get(r.frame);
        var stale = !t || t.state === "free" || (r.gen !== null && t.gen !== r.gen) || !r.liveWhenRead;
        var chip = el("span", "ref" + (stale ? " stale" : ""),
                      tableName(r.level, r.frame, r.gen) + (stale ? " \u2014 stale" + (t && t.freedAt !== null ? " (freed at #" + t.freedAt + ")" : "") : ""));
        chip.dataset.frame = r.frame;
        chip.title = "pointer read at step #" + r.at;
        add(line, chip);
      });
      add(box, line);
    });
    if (!any) add(box, el("p", "muted", "none yet"));
    return box;
  }

  function tlbView(state, targets) {
    var box = el("div", "tlbs");
    state.tlbs.forEach(function (tlb, c) {
      var d = el("div", "tlb");
      add(d, el("span", "who cpu-fg-" + (c % 6), "CPU" + c));
      if (!tlb.length) add(d, el("span", "muted", " empty"));
      var ul = el("ul", "tlb-list");
      tlb.forEach(function (e) {
        // stale: a fresh walk of the span's first page, or of an address the CPUs
        // touch inside the span, gives another frame or other attributes
        var attrs = function (lvl, f) { return lvl > 1 ? f & ~0x80n : f; };
        var end = e.va + span(e.level);
        var probes = [e.va].concat(targets.map(function (t) { return t.va; }).filter(function (va) {
          return va > e.va && va < end;
        }));
        var stale = probes.some(function (va) {
          var now = translate(state, va);
          var want = e.mfn + ((va - e.va) >> 12n);
          return !now || now.mfn !== want ||
            (e.flags !== null && attrs(now.level, now.flags) !== attrs(e.level, e.flags));
        });
        var li = el("li", "tlb-entry" + (stale ? " stale" : ""));
        add(li, el("code", null, hex(e.va)), " " + sizeName(e.level) + " \u2192 mfn " + hex(e.mfn));
        if (e.flags !== null) add(li, " ", flagChips(decodePte(e.flags | (e.level > 1 ? 0x80n : 0n), e.level), e.level));
        if (stale) add(li, el("span", "badge badge-free", "stale"));
        if (e.at !== null) li.title = "filled at step #" + e.at;
        add(ul, li);
      });
      add(d, ul);
      add(box, d);
    });
    return box;
  }

  function selectedStepView(s, finding, isFail) {
    var box = el("div", "step-detail" + (isFail ? " failing" : ""));
    var h = el("div", "sd-head");
    add(h, el("span", "sd-idx", "#" + s.index), el("span", "who cpu-fg-" + (s.cpu % 6), "CPU" + s.cpu),
        labelLink(s.step, "label"), opChip(s.op), el("span", "fn", whereText(s)));
    if (s.preempted) add(h, el("span", "badge badge-preempt", "preempted"));
    add(box, h);
    add(box, el("div", "sd-text", s.text));
    var info = STEPS[stepKey(s.step)];
    if (info) {
      var where = el("div", "sd-where");
      add(where, el("span", "sd-does", info.does));
      if (linesText(s.lines) && sourceText()) add(where, el("span", "sd-src", " \u2014 line " + linesText(s.lines) + " of " + sourceText()));
      add(box, where);
    }
    var kv = el("dl", "sd-kv");
    function pair(k, v) { if (v !== undefined && v !== null) add(kv, el("dt", null, k), el("dd", null, String(v))); }
    if (s.op === "load") { pair("value", s.value); }
    if (s.op === "store") { pair("old", s.old + "  " + s.decoded_old); pair("new", s["new"] + "  " + s.decoded_new); }
    if (s.frame_state && s.frame_state !== "table") pair("frame state", s.frame_state);
    if (s.op === "flush") { pair("flags", "0x" + Number(s.flags).toString(16)); pair("cpus", (s.cpus || []).join(", ")); }
    if (kv.childNodes.length) add(box, kv);
    if (isFail && finding) add(box, el("div", "fail-msg", "\u2716 " + finding.kind + ": " + finding.message));
    return box;
  }

  function interestingEntries(trace, state, targets) {
    var m = new Map();
    function note(frame, idx) {
      if (!m.has(frame)) m.set(frame, new Set());
      m.get(frame).add(idx);
    }
    trace.forEach(function (s) {
      if ((s.op === "load" || s.op === "store") && s.entry !== undefined && s.entry >= 0) note(s.frame, s.entry);
    });
    targets.forEach(function (tg) {
      walk(state, tg.va).forEach(function (r) { if (!r.missing) note(r.table.frame, r.index); });
    });
    return m;
  }

  function renderState() {
    var panel = document.getElementById("state");
    if (!panel) return;
    panel.textContent = "";
    var trace = view.trace;
    var finding = view.finding >= 0 ? DATA.findings[view.finding] : null;
    var pos = view.pos;
    var state = trace.length ? stateAt(trace, pos) : initialState();
    var s = trace.length ? trace[pos] : null;
    var caption = s ? "State after step #" + s.index + (selectedGroup ? " (end of the folded loop)" : "") : "Initial state (after set-up)";
    add(panel, el("h2", "panel-title", caption));
    if (s) add(panel, selectedStepView(s, finding, pos === view.fail));

    var targets = touchedAddresses(trace);
    var sec = el("section", "sec");
    add(sec, el("h3", null, "Table pointers each CPU has read"));
    add(sec, refsView(state));
    add(panel, sec);

    sec = el("section", "sec");
    add(sec, el("h3", null, "Walks of the addresses the CPUs touch"));
    targets.forEach(function (tg) { add(sec, walkView(state, tg)); });
    if (!targets.length) add(sec, el("p", "muted", "no addresses"));
    add(panel, sec);

    sec = el("section", "sec");
    add(sec, el("h3", null, "Page tables"));
    var cards = el("div", "cards");
    var interesting = interestingEntries(trace, state, targets);
    var list = Array.from(state.tables.values()).sort(function (a, b) {
      return b.level - a.level || (BigInt(a.frame) < BigInt(b.frame) ? -1 : 1);
    });
    list.forEach(function (t) { add(cards, tableCard(state, t, interesting, s)); });
    add(sec, cards);
    if (state.wild.length) {
      add(sec, el("p", "bad", "stores into non-table frames: " + state.wild.map(function (w) { return "#" + w.index + " " + w.frame; }).join(", ")));
    }
    add(panel, sec);

    sec = el("section", "sec");
    add(sec, el("h3", null, "TLBs"));
    add(sec, tlbView(state, targets));
    add(panel, sec);
  }

  // ---------------------------------------------------- finding selection --
  function copyReplay() {
    var code = document.getElementById("replay-cmd");
    if (!code) return;
    var text = code.textContent;
    var btn = document.getElementById("replay-copy");
    function done(ok) {
      if (btn) {
        btn.textContent = ok ? "copied" : "selected: press Ctrl+C";
        setTimeout(function () { btn.textContent = "copy"; }, 1500);
      }
    }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(code);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  function selectFinding(i) {
    var list = DATA.findings || [];
    if (!list.length) return;
    i = Math.max(0, Math.min(list.length - 1, i));
    view.finding = i;
    var f = list[i];
    view.trace = f.trace || [];
    view.fail = failingPos(f, view.trace);
    view.items = foldRuns(view.trace, view.fail);
    document.querySelectorAll(".finding-item").forEach(function (li) {
      li.classList.toggle("selected", li.dataset.finding === String(i));
    });
    var head = document.getElementById("cx-head");
    head.textContent = "";
    var line = el("div", "cx-title");
    add(line, el("span", "kind kind-" + String(f.kind).replace(/[^a-z-]/g, ""), kindText(f)), el("span", "cx-msg", f.message));
    add(head, line);
    if (f.stops_execution) add(head, el("div", "cx-meta", "the execution stops here: " + f.stops_execution));
    var meta = el("div", "cx-meta");
    add(meta, el("span", null, plural(f.preemptions, "preemption") + ", " + plural(view.trace.length, "step")),
        el("span", null, "schedule "), el("code", "schedule", f.schedule));
    add(head, meta);
    var rp = el("div", "replay");
    var code = el("code", "replay-cmd", f.replay);
    code.id = "replay-cmd";
    var btn = el("button", "copy-btn", "copy");
    btn.id = "replay-copy";
    btn.type = "button";
    btn.title = "copy the replay command (c)";
    btn.addEventListener("click", copyReplay);
    add(rp, el("span", "replay-label", "replay"), code, btn);
    add(head, rp);
    buildTimeline(document.getElementById("timeline"));
    select(view.fail);
  }

  // The step where the finding was made (its "at" event); a finding of the checks at
  // quiescence, made after the last step, is shown at the last step.
  // The step that found it: a finding recorded while the execution went on has "at",
  // the number of trace records before it; one that ended the execution is at the end.
  function failingPos(f, trace) {
    if (f.at === null || f.at === undefined) return trace.length - 1;
    var pos = 0;
    for (var i = 0; i < trace.length; i++) if (trace[i].index < f.at) pos = i;
    return pos;
  }
  // The kind with the check that fired (BUG_ON, ASSERT) and a caller's fault.
  function kindText(f) {
    var tags = [];
    if (f.check) tags.push(f.check);
    if (f.fault === "caller") tags.push("caller's fault");
    return f.kind + (tags.length ? " (" + tags.join(", ") + ")" : "");
  }

  // ------------------------------------------------------------- layout --
  add(app, buildHeader(), buildFindingsList());
  var work = el("div", "workspace");
  if ((DATA.findings || []).length) {
    var left = el("section", "cx");
    var cxHead = el("div", "cx-head");
    cxHead.id = "cx-head";
    var legend = el("div", "legend");
    add(legend, el("span", "lg lg-pgdir", "holds map_pgdir_lock"), el("span", "lg lg-l3t", "holds an l3t lock"),
        el("span", "lg lg-preempt", "\u21af preemption"), el("span", "lg lg-fail", "failing step"),
        el("span", "keys", "j/k \u2193/\u2191 step \u00b7 Home/End \u00b7 f failing step \u00b7 Enter fold \u00b7 n/p finding \u00b7 i step info \u00b7 c copy"));
    var tl = el("div", "timeline-wrap");
    tl.id = "timeline";
    tl.tabIndex = 0;
    add(left, cxHead, legend, tl);
    add(work, left);
  } else {
    var clean = el("section", "cx clean");
    add(clean, el("h2", null, DATA.status === "clean" ? "No findings: the run is clean" : "No findings (status: " + DATA.status + ")"),
        el("p", null, "Explored " + ((DATA.stats || {}).executions || 0) + " executions. The panel shows the page tables after the set-up."));
    add(work, clean);
  }
  var panel = el("aside", "state-panel");
  panel.id = "state";
  add(work, panel);
  add(app, work);

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA") return;
    var handled = true;
    switch (ev.key) {
      case "j": case "ArrowDown": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      case "Home": case "g": move(-1e9); break;
      case "End": case "G": move(1e9); break;
      case "f": select(view.fail); break;
      case "PageDown": move(20); break;
      case "PageUp": move(-20); break;
      case "Enter":
        if (ev.target && ev.target.tagName === "BUTTON") { handled = false; break; }
        if (selectedGroup) toggleGroup(selectedGroup);
        else {
          var g = groupOf(view.pos);
          if (g && g.expanded) toggleGroup(g); else handled = false;
        }
        break;
      case "n": selectFinding(view.finding + 1); break;
      case "p": selectFinding(view.finding - 1); break;
      case "c": copyReplay(); break;
      case "i": {
        var cur = view.trace[view.pos];
        var pop = document.getElementById("step-pop");
        if (pop && !pop.hidden) hideStep();
        else if (cur) showStep(stepKey(cur.step), document.querySelector("tr.selected .step-link"));
        break;
      }
      case "Escape": hideStep(); handled = false; break;
      default: handled = false;
    }
    if (handled) ev.preventDefault();
  });

  if ((DATA.findings || []).length) selectFinding(0); else renderState();
  document.title = "pagerace: " + (DATA.scenario || "") + " (" + (DATA.variant || "") + ", " + (DATA.status || "") + ")";
  window.pageraceReport = {data: DATA, select: select, selectFinding: selectFinding, stateAt: stateAt};
})();
