(function () {
  'use strict';
  var table = document.getElementById('listeners');
  var body = table.tBodies[0];
  var filter = document.getElementById('filter');
  var span = document.getElementById('window');
  var delay = Math.max(1000, +table.getAttribute('data-delay'));
  var sort = table.getAttribute('data-sort');
  var byKey = {};
  [].forEach.call(table.tHead.rows[0].cells, function (th) {
    var key = th.getAttribute('data-key');
    byKey[key] = th;
  });
  var numbers = {
    pressure: ['queued', 'active'], queued: ['queued', 'active'],
    active: ['active', 'queued'], peak: ['peak_queued', 'peak_active'],
    oldest: ['oldest_ms', 'queued']
  };
  // The rows the server rendered: those its filter showed when the page was served. Typing
  // only hides rows, so the JSON is asked for the same rows whatever the URL says since.
  var served = new URLSearchParams(location.search).get('q') || '';
  var data = {};
  var timer;
  document.getElementById('apply').hidden = true;

  function link(row) { return row.querySelector('[data-u]'); }
  function text(row) { return link(row).textContent; }
  function search() {
    var q = new URLSearchParams();
    q.set('window', span.value);
    q.set('sort', sort);
    if (filter.value) q.set('q', filter.value);
    return '?' + q.toString();
  }
  function remember() { history.replaceState(null, '', search()); }
  function order() {
    var keys = numbers[sort] || (sort === 'address' ? [] : [sort]);
    var rows = [].slice.call(body.rows);
    rows.sort(function (a, b) {
      var da = data[link(a).getAttribute('data-u')] || {};
      var db = data[link(b).getAttribute('data-u')] || {};
      for (var i = 0; i < keys.length; i++) {
        var d = (db[keys[i]] || 0) - (da[keys[i]] || 0);
        if (d) return d;
      }
      var ta = text(a), tb = text(b);
      return ta < tb ? -1 : ta > tb ? 1 : 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Object.keys(byKey).forEach(function (key) {
      if (key === sort || (sort === 'pressure' && key === 'queued')) {
        byKey[key].setAttribute('aria-sort', key === 'address' ? 'ascending' : 'descending');
      } else {
        byKey[key].removeAttribute('aria-sort');
      }
    });
  }
  function show() {
    var f = filter.value.toLowerCase();
    [].forEach.call(body.rows, function (row) {
      row.hidden = f !== '' && text(row).toLowerCase().indexOf(f) < 0;
    });
  }
  function update(json) {
    var rows = [].slice.call(body.rows);
    var fresh = {};
    json.listeners.forEach(function (l) { fresh[l.url] = l; });
    var same = rows.length === json.listeners.length && rows.every(function (row) {
      return fresh[link(row).getAttribute('data-u')];
    });
    if (!same) { location.replace(search()); return false; }
    data = fresh;
    rows.forEach(function (row) {
      var l = data[link(row).getAttribute('data-u')];
      [].forEach.call(row.querySelectorAll('[data-v]'), function (el) {
        var v = String(l[el.getAttribute('data-v')]);
        if (el.textContent !== v) el.textContent = v;
      });
      [].forEach.call(row.querySelectorAll('[data-d]'), function (el) {
        el.setAttribute('d', l[el.getAttribute('data-d')]);
      });
      [].forEach.call(row.querySelectorAll('[data-busy]'), function (el) {
        el.classList.toggle('busy', l[el.getAttribute('data-busy')] > 0);
      });
    });
    document.getElementById('updated').textContent = json.time;
    order();
    return true;
  }
  function poll() {
    var url = 'index.json?window=' + encodeURIComponent(span.value) +
      (served ? '&q=' + encodeURIComponent(served) : '');
    fetch(url, { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (json) { if (update(json)) timer = setTimeout(poll, delay); })
      .catch(function () { timer = setTimeout(poll, delay); });
  }
  table.tHead.addEventListener('click', function (e) {
    var th = e.target.closest('th');
    if (!th || !e.target.closest('a')) return;
    e.preventDefault();
    sort = th.getAttribute('data-key');
    remember();
    order();
  });
  filter.addEventListener('input', function () { show(); });
  document.getElementById('controls').addEventListener('submit', function (e) {
    e.preventDefault();
  });
  span.addEventListener('change', function () { clearTimeout(timer); remember(); poll(); });
  show();
  poll();
})();
