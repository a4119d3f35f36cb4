package io.github.r2dbcrouting.benchmarks;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLongArray;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
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
        data.addSeries(series("reads ok / 100 ms", recorder.readsOk, buckets));
        data.addSeries(series("read errors / 100 ms", recorder.readsFailed, buckets));
        data.addSeries(series("writes ok / 100 ms", recorder.writesOk, buckets));
        data.addSeries(series("write errors / 100 ms", recorder.writesFailed, buckets));
        JFreeChart chart = ChartFactory.createXYLineChart(title, "seconds since the load started", "operations per 100 ms", data,
            PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        renderer.setSeriesPaint(0, new Color(0x1f77b4));
        renderer.setSeriesPaint(1, new Color(0xd62728));
        renderer.setSeriesPaint(2, new Color(0x2ca02c));
        renderer.setSeriesPaint(3, new Color(0xff7f0e));
        for (int i = 0; i < 4; i++) {
            renderer.setSeriesStroke(i, new BasicStroke(i == 0 ? 2f : 1.5f));
        }
        plot.setRenderer(renderer);
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
