/*
 * report.js: draws a labsup report (workers/report.c inlines it after
 * uPlot and the data).  Every chart gets every event as a numbered
 * orange line, the caller's marks as blue lines and its windows shaded
 * green (pass), red (fail) or grey.  Text from the lab (event texts,
 * labels) only ever goes in through textContent, never as HTML.
 *
 * For tests and scripts the page tells what it drew: each chart's
 * element has data-state (drawn, nodata, error) and data-points (values
 * drawn), and <body> data-state="ready" with data-errors (script errors
 * seen) once every chart is done.
 */
(function () {
	"use strict";
	var body = document.body, errors = 0;
	var origError = console.error;

	function noteError() {
		errors++;
		body.setAttribute("data-errors", String(errors));
	}
	window.addEventListener("error", noteError);
	console.error = function () {
		noteError();
		return origError.apply(console, arguments);
	};
	body.setAttribute("data-errors", "0");

	var data = JSON.parse(document.getElementById("report-data").textContent);
	var palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b",
	    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e", "#393b79",
	    "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	function utc(t) {
		return new Date(t * 1000).toISOString().replace("T", " ")
		    .replace(/\.\d+Z$/, "Z");
	}

	/* The event, mark and window lists above the charts. */
	function lists() {
		var sec = document.getElementById("events"), ol, i;
		sec.appendChild(el("h2", null, "Events (" + data.events.length +
		    ")" + (data.marks.length ? ", marks and windows" : "")));
		if (data.events.length === 0 && data.marks.length === 0 &&
		    data.windows.length === 0) {
			sec.appendChild(el("p", "none", "no events in this range"));
			return;
		}
		ol = el("ol", "events");
		data.events.forEach(function (e) {
			var li = el("li");
			li.appendChild(el("span", "t", utc(e.t) + " "));
			li.appendChild(el("span", "k", e.kind + ": "));
			li.appendChild(el("span", "x", e.text));
			ol.appendChild(li);
		});
		if (data.events.length)
			sec.appendChild(ol);
		if (data.marks.length) {
			ol = el("ol", "marks");
			for (i = 0; i < data.marks.length; i++)
				ol.appendChild(el("li", null, utc(data.marks[i].t) +
				    " " + data.marks[i].label));
			sec.appendChild(ol);
		}
		if (data.windows.length) {
			ol = el("ol", "windows");
			data.windows.forEach(function (w) {
				ol.appendChild(el("li", w.verdict, utc(w.from) +
				    " \u2013 " + utc(w.to) + " " + w.label +
				    (w.verdict === "none" ? "" : " (" + w.verdict +
				    ")")));
			});
			sec.appendChild(ol);
		}
	}

	/*
	 * The overlay every chart gets: windows, then marks, then events; the
	 * chart's element counts what it drew of each (data-windows,
	 * data-marks, data-events).
	 */
	function overlay(u, box) {
		var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
		var dpr = window.devicePixelRatio || 1, drawn = 0, nw = 0;
		/* labels of close lines (a scenario's quick steps) go lower */
		var lastx = -1e9, row = 0;
		ctx.save();
		ctx.font = (10 * dpr) + "px sans-serif";
		data.windows.forEach(function (w) {
			var a = u.valToPos(w.from, "x", true);
			var b = u.valToPos(w.to, "x", true);
			ctx.fillStyle = w.verdict === "pass" ? "rgba(26,127,55,.13)" :
			    w.verdict === "fail" ? "rgba(200,0,0,.15)" :
			    "rgba(120,120,120,.12)";
			ctx.fillRect(a, top, Math.max(b - a, 1), h);
			nw++;
		});
		function line(t, color, dash, label) {
			var x = u.valToPos(t, "x", true);
			if (x < u.bbox.left - 1 || x > u.bbox.left + u.bbox.width + 1)
				return;
			drawn++;
			ctx.strokeStyle = color;
			ctx.fillStyle = color;
			ctx.lineWidth = dpr;
			ctx.setLineDash(dash);
			ctx.beginPath();
			ctx.moveTo(x, top);
			ctx.lineTo(x, top + h);
			ctx.stroke();
			if (label) {
				row = x - lastx < 80 * dpr ? (row + 1) % 6 : 0;
				lastx = x;
				ctx.fillText(label, x + 2 * dpr,
				    top + (10 + 11 * row) * dpr);
			}
		}
		data.marks.forEach(function (m) {
			line(m.t, "#1f4fb0", [], m.label);
		});
		box.setAttribute("data-windows", String(nw));
		box.setAttribute("data-marks", String(drawn));
		drawn = 0;
		data.events.forEach(function (e, i) {
			line(e.t, "rgba(230,120,0,.8)", [4 * dpr, 3 * dpr],
			    String(i + 1));
		});
		box.setAttribute("data-events", String(drawn));
		ctx.restore();
	}

	/* y axis ticks: bytes in kB/MB/GB, big counts with k/M */
	function ticks(unit) {
		var big = unit === "bytes" ? [[1073741824, " GB"], [1048576, " MB"],
		    [1024, " kB"]] : [[1e6, "M"], [1e3, "k"]];
		return function (u, vals) {
			return vals.map(function (v) {
				var a = Math.abs(v);
				for (var i = 0; i < big.length; i++)
					if (a >= big[i][0])
						return +(v / big[i][0]).toFixed(1) + big[i][1];
				return String(+v.toFixed(3));
			});
		};
	}

	function draw(c, box) {
		var n = 0, s, i, width, series, cols, plot;
		for (s = 0; s < c.series.length; s++)
			for (i = 0; i < c.series[s].v.length; i++)
				if (c.series[s].v[i] !== null)
					n++;
		if (c.error) {
			box.setAttribute("data-state", "error");
			box.appendChild(el("div", "nodata err", "query failed: " +
			    c.error));
			return;
		}
		if (n === 0) {
			box.setAttribute("data-state", "nodata");
			box.setAttribute("data-points", "0");
			box.appendChild(el("div", "nodata", "no data"));
			return;
		}
		series = [{ value: function (u, v) {
			return v === null ? "" : utc(v);
		} }];
		cols = [c.t];
		c.series.forEach(function (one, k) {
			series.push({ label: one.label, spanGaps: true,
			    stroke: palette[k % palette.length], width: 1.5,
			    points: { show: false } });
			cols.push(one.v);
		});
		width = Math.max(box.clientWidth || 600, 400);
		plot = new uPlot({
			width: width, height: 240, series: series,
			scales: { x: { time: true, min: data.from, max: data.to } },
			axes: [{}, { label: c.unit, size: 64, values: ticks(c.unit) }],
			tzDate: function (ts) {
				return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
			},
			hooks: {
				draw: [function (u) {
					overlay(u, box);
					box.setAttribute("data-state", "drawn");
					box.setAttribute("data-points", String(n));
				}],
			},
		}, cols, box);
		box.uplot = plot;
	}

	lists();
	var main = document.getElementById("charts");
	data.charts.forEach(function (c) {
		var box = el("section", "chart");
		box.id = "chart-" + c.id;
		box.setAttribute("data-state", "pending");
		box.appendChild(el("h2", null, c.title));
		box.appendChild(el("code", "q", c.query));
		if (c.dropped)
			box.appendChild(el("p", "none", c.dropped +
			    " more series not drawn"));
		main.appendChild(box);
		try {
			draw(c, box);
		} catch (e) {
			box.setAttribute("data-state", "error");
			box.appendChild(el("div", "nodata err", String(e)));
			noteError();
		}
	});
	body.setAttribute("data-charts", String(data.charts.length));
	body.setAttribute("data-events", String(data.events.length));
	body.setAttribute("data-marks", String(data.marks.length));
	body.setAttribute("data-windows", String(data.windows.length));
	/* uPlot draws in a microtask: ready once those have run */
	setTimeout(function () {
		body.setAttribute("data-state", "ready");
	}, 0);
})();
