// The charts of report.html, drawn with the inlined Apache ECharts from the page's
// <script id="report-data"> (built by bot/plans/report_html.py; every text is already Chinese
// and every amount already formatted there). SVG renderer: crisp when printed, and the
// browser test can read the axis labels that were actually drawn.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var charts = {};
  var text = { fontFamily: data.font };

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "svg" });
    option.animation = false;
    option.textStyle = text;
    chart.setOption(option);
    charts[id] = chart;
  }

  function tooltipFrom(lines) {
    return function (params) {
      var first = Array.isArray(params) ? params[0] : params;
      return lines[first.dataIndex];
    };
  }

  var products = data.products;
  draw("chart-products", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { data: products.series, top: 0 },
    grid: { left: 70, right: 30, top: 40, bottom: 40 },
    xAxis: { type: "category", data: products.names, axisLabel: { interval: 0 } },
    yAxis: { type: "value", name: "账户数", minInterval: 1 },
    series: [
      {
        name: products.series[0],
        type: "bar",
        stack: "all",
        data: products.offered,
        itemStyle: { color: "#5470c6" },
      },
      {
        name: products.series[1],
        type: "bar",
        stack: "all",
        data: products.escalated,
        itemStyle: { color: "#f0a030" },
      },
    ],
  });

  var inflow = data.inflow;
  draw("chart-inflow", {
    tooltip: { trigger: "axis", formatter: tooltipFrom(inflow.tooltips) },
    grid: { left: 80, right: 30, top: 40, bottom: 80 },
    xAxis: {
      type: "category",
      name: "到期月份",
      nameLocation: "middle",
      nameGap: 62,
      data: inflow.labels,
      axisLabel: { interval: 0, rotate: 60, fontSize: 11 },
      axisTick: { alignWithLabel: true, interval: 0 },
    },
    yAxis: {
      type: "value",
      name: "应收（万元）",
      axisLabel: {
        formatter: function (value) {
          return String(value / 10000);
        },
      },
    },
    series: [{ name: "应收", type: "bar", data: inflow.values, itemStyle: { color: "#5470c6" } }],
  });

  var afford = data.affordability;
  if (afford.labels.length) {
    draw("chart-affordability", {
      tooltip: { trigger: "axis", formatter: tooltipFrom(afford.tooltips) },
      grid: { left: 70, right: 30, top: 40, bottom: 90 },
      xAxis: {
        type: "category",
        name: "每月可承担（元）",
        nameLocation: "middle",
        nameGap: 72,
        data: afford.labels,
        axisLabel: { interval: 0, rotate: 45, fontSize: 11 },
      },
      yAxis: { type: "value", name: "账户数", minInterval: 1 },
      series: [
        {
          name: "账户数",
          type: "bar",
          data: afford.values.map(function (value, index) {
            return index === 0 ? { value: value, itemStyle: { color: "#909399" } } : value;
          }),
          itemStyle: { color: "#91cc75" },
        },
      ],
    });
  }

  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      charts[id].resize();
    });
  });
  window.reportCharts = charts;
})();
