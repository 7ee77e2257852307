package org.fommtf.demo

import android.content.Context
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.ImageDecoder
import android.net.Uri
import android.os.Build
import android.util.Size
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.core.resolutionselector.ResolutionStrategy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.lifecycle.LifecycleOwner
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.TimeUnit
import org.fommtf.core.BufferPool
import org.fommtf.core.Frame
import org.fommtf.core.LiveSession

/**
 * The front camera as the driver, for one screen (its [PreviewView] and lifecycle owner); the
 * core's `DriverState` decides when to open, bind and unbind it.
 *
 * CameraX `ImageAnalysis` in RGBA_8888 with `STRATEGY_KEEP_ONLY_LATEST` (the camera never
 * queues frames for us), about 640x480, on its own analysis thread created at [bind] and shut
 * down at [unbind]. Each image is offered to the session first: only when the inference thread
 * is idle is it copied (into a buffer of the [pool], recycled after the frame) into a core
 * [Frame] carrying CameraX's `rotationDegrees` and a mirror flag; otherwise it is closed
 * without a copy.
 */
class CameraDriver(
    private val context: Context,
    private val owner: LifecycleOwner,
    private val preview: PreviewView,
    private val session: LiveSession,
    private val pool: BufferPool,
    private val onError: (Throwable) -> Unit,
) {
    private var provider: ProcessCameraProvider? = null
    private var analysisThread: ExecutorService? = null
    private var analysis: ImageAnalysis? = null
    private var shown: Preview? = null

    /** Get CameraX's provider; [onReady] runs on the main thread when it is there. */
    fun open(onReady: () -> Unit) {
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            try {
                provider = future.get()
                onReady()
            } catch (e: Exception) {
                onError(e)
            }
        }, ContextCompat.getMainExecutor(context))
    }

    /** Bind preview + analysis (call only when `DriverState` says BIND_CAMERA). */
    fun bind() {
        val cameras = provider ?: throw IllegalStateException("bind() before the provider is ready")
        unbind()
        val selector = ResolutionSelector.Builder()
            .setResolutionStrategy(
                ResolutionStrategy(Size(640, 480), ResolutionStrategy.FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER),
            )
            .build()
        val thread = Executors.newSingleThreadExecutor()
        val use = ImageAnalysis.Builder()
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
            .setResolutionSelector(selector)
            .build()
        use.setAnalyzer(thread) { image ->
            image.use { session.offer { toFrame(it, pool) } } // dropped before any copy
        }
        val view = Preview.Builder().build()
        view.setSurfaceProvider(preview.surfaceProvider)
        analysisThread = thread
        analysis = use
        shown = view
        try {
            cameras.bindToLifecycle(owner, CameraSelector.DEFAULT_FRONT_CAMERA, view, use)
        } catch (e: Exception) {
            unbind()
            throw e
        }
    }

    /** Unbind what [bind] bound and shut its analysis thread down. */
    fun unbind() {
        analysis?.clearAnalyzer()
        val bound = listOfNotNull(shown, analysis)
        if (bound.isNotEmpty()) provider?.unbind(*bound.toTypedArray())
        analysis = null
        shown = null
        analysisThread?.shutdown()
        analysisThread = null
    }

    companion object {
        /** An RGBA_8888 camera image as a core frame, copied once into a pooled buffer. */
        fun toFrame(image: ImageProxy, pool: BufferPool): Frame {
            val plane = image.planes[0]
            require(plane.pixelStride == 4) { "RGBA_8888 expected, pixel stride ${plane.pixelStride}" }
            val buffer = plane.buffer
            buffer.rewind()
            val bytes = pool.acquire(buffer.remaining())
            buffer.get(bytes)
            return Frame.rgba(
                bytes, 0, image.width, image.height, plane.rowStride,
                image.imageInfo.rotationDegrees, true,
            )
        }
    }
}

/**
 * The bundled driving clip as the driver: `driving.png` in the assets, a strip of square frames
 * side by side (`fomm export --android-assets`), decoded once (the app keeps this object in its
 * ViewModel) and played in a loop at [fps] on a timer thread that [stop] shuts down. Frames are
 * offered whatever the inference speed, so slow phones drop frames as with the camera.
 */
class ClipDriver(private val context: Context, private val fps: Int = 25) {
    @Volatile private var frames: List<Frame>? = null
    private var timer: ScheduledExecutorService? = null
    private var next = 0

    fun start(session: LiveSession, onError: (Throwable) -> Unit) {
        if (timer != null) return
        timer = Executors.newSingleThreadScheduledExecutor().also {
            it.scheduleAtFixedRate({
                try {
                    val clip = frames ?: decodeStrip(context).also { f -> frames = f }
                    session.submit(clip[next++ % clip.size])
                } catch (e: Exception) {
                    onError(e)
                    throw e // a broken clip stops the timer
                }
            }, 0, 1000L / fps, TimeUnit.MILLISECONDS)
        }
    }

    fun stop() {
        timer?.shutdownNow()
        timer = null
    }

    companion object {
        const val ASSET = "driving.png"

        fun decodeStrip(context: Context): List<Frame> {
            val strip = context.assets.open(ASSET).use { BitmapFactory.decodeStream(it) }
                ?: throw IllegalStateException("$ASSET in the assets is not an image")
            val side = strip.height
            val count = strip.width / side
            require(count >= 1) { "$ASSET: expected square frames side by side" }
            return List(count) { i ->
                val pixels = IntArray(side * side)
                strip.getPixels(pixels, 0, side, i * side, 0, side, side)
                Frame.argb(pixels, side, side)
            }.also { strip.recycle() }
        }
    }
}

/** Pictures → core frames. */
object Pictures {
    /** A bitmap's pixels (any config) as an upright ARGB frame. */
    fun toFrame(bitmap: Bitmap): Frame {
        val argb = if (bitmap.config == Bitmap.Config.ARGB_8888) bitmap
        else bitmap.copy(Bitmap.Config.ARGB_8888, false)
        val pixels = IntArray(argb.width * argb.height)
        argb.getPixels(pixels, 0, argb.width, 0, 0, argb.width, argb.height)
        return Frame.argb(pixels, argb.width, argb.height)
    }

    /**
     * A picked photo, upright (EXIF orientation applied from Android 9 on), decoded at least
     * [minSide] pixels on its shorter side but not much more (no 12-megapixel float copies).
     */
    fun decode(context: Context, uri: Uri, minSide: Int): Bitmap {
        if (Build.VERSION.SDK_INT >= 28) {
            val source = ImageDecoder.createSource(context.contentResolver, uri)
            return ImageDecoder.decodeBitmap(source) { decoder, info, _ ->
                decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE
                val short = minOf(info.size.width, info.size.height)
                val factor = maxOf(1, short / (2 * minSide))
                decoder.setTargetSize(info.size.width / factor, info.size.height / factor)
            }
        }
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        context.contentResolver.openInputStream(uri).use { BitmapFactory.decodeStream(it, null, bounds) }
        var sample = 1
        while (minOf(bounds.outWidth, bounds.outHeight) / (2 * sample) >= 2 * minSide) sample *= 2
        val options = BitmapFactory.Options().apply {
            inSampleSize = sample
            inPreferredConfig = Bitmap.Config.ARGB_8888
        }
        return context.contentResolver.openInputStream(uri).use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw IllegalArgumentException("not an image: $uri")
    }
}
