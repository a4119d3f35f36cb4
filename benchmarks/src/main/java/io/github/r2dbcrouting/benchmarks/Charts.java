package io.github.r2dbcrouting.benchmarks;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLongArray;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The PNG of one scenario: operations per 100 ms over time, with the fault and its aftermath marked. */
final class Charts {

    private Charts() {
    }

    /** A vertical line at {@code seconds}, or nothing when {@code seconds} is NaN. */
    record Mark(String label, double seconds, Color color) {
    }

    static void scenario(Path file, String title, Recorder recorder, int buckets, Mark... marks) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(series("reads ok / 100 ms (left axis)", recorder.readsOk, buckets));
        // errors and writes are a few per bucket: on their own axis, or they vanish under the reads
        XYSeriesCollection small = new XYSeriesCollection();
        small.addSeries(series("read errors / 100 ms (right axis)", recorder.readsFailed, buckets));
        small.addSeries(series("writes ok / 100 ms (right axis)", recorder.writesOk, buckets));
        small.addSeries(series("write errors / 100 ms (right axis)", recorder.writesFailed, buckets));
        JFreeChart chart = ChartFactory.createXYLineChart(title, "seconds since the load started", "reads per 100 ms", data,
            PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        renderer.setSeriesPaint(0, new Color(0x1f77b4));
        renderer.setSeriesStroke(0, new BasicStroke(2f));
        plot.setRenderer(renderer);
        plot.setDataset(1, small);
        plot.setRangeAxis(1, new NumberAxis("errors and writes per 100 ms"));
        plot.mapDatasetToRangeAxis(1, 1);
        XYLineAndShapeRenderer smallRenderer = new XYLineAndShapeRenderer(true, false);
        smallRenderer.setSeriesPaint(0, new Color(0xd62728));
        smallRenderer.setSeriesPaint(1, new Color(0x2ca02c));
        smallRenderer.setSeriesPaint(2, new Color(0xff7f0e));
        for (int i = 0; i < 3; i++) {
            smallRenderer.setSeriesStroke(i, new BasicStroke(1.5f));
        }
        plot.setRenderer(1, smallRenderer);
        int row = 0;
        for (Mark mark : marks) {
            if (Double.isNaN(mark.seconds())) {
                continue;
            }
            ValueMarker marker = new ValueMarker(mark.seconds(), mark.color(),
                new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            marker.setLabel(mark.label());
            marker.setLabelPaint(mark.color());
            marker.setLabelAnchor(row % 2 == 0 ? RectangleAnchor.TOP_RIGHT : RectangleAnchor.BOTTOM_RIGHT);
            marker.setLabelTextAnchor(row % 2 == 0 ? TextAnchor.TOP_LEFT : TextAnchor.BOTTOM_LEFT);
            plot.addDomainMarker(marker);
            row++;
        }
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 1100, 550);
    }

    private static XYSeries series(String name, AtomicLongArray counts, int buckets) {
        XYSeries series = new XYSeries(name, false, false);
        for (int i = 0; i < buckets && i < counts.length(); i++) {
            series.add(i * 0.1, counts.get(i));
        }
        return series;
    }
}
