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
import org.fommtf.core.Frame

/** Something that produces driving frames until stopped. */
interface Driver {
    fun start()
    fun stop()
}

/**
 * The front camera as the driver: CameraX `ImageAnalysis` in RGBA_8888 with
 * `STRATEGY_KEEP_ONLY_LATEST` (the camera never queues frames for us), about 640x480. Each image
 * is copied into a core [Frame] carrying CameraX's `rotationDegrees` and a mirror flag (so the
 * animation moves like a mirror image), then closed at once; the [sink] drops it when inference
 * is busy.
 */
class CameraDriver(
    private val context: Context,
    private val owner: LifecycleOwner,
    private val preview: PreviewView,
    private val sink: (Frame) -> Unit,
    private val onError: (Throwable) -> Unit,
) : Driver {
    private val analysisThread: ExecutorService = Executors.newSingleThreadExecutor()
    private var provider: ProcessCameraProvider? = null

    override fun start() {
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            try {
                val cameras = future.get()
                provider = cameras
                val selector = ResolutionSelector.Builder()
                    .setResolutionStrategy(
                        ResolutionStrategy(
                            Size(640, 480),
                            ResolutionStrategy.FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER,
                        ),
                    )
                    .build()
                val analysis = ImageAnalysis.Builder()
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                    .setResolutionSelector(selector)
                    .build()
                analysis.setAnalyzer(analysisThread) { image -> image.use { sink(toFrame(it)) } }
                val shown = Preview.Builder().build()
                shown.setSurfaceProvider(preview.surfaceProvider)
                cameras.unbindAll()
                cameras.bindToLifecycle(owner, CameraSelector.DEFAULT_FRONT_CAMERA, shown, analysis)
            } catch (e: Exception) {
                onError(e)
            }
        }, ContextCompat.getMainExecutor(context))
    }

    override fun stop() {
        provider?.unbindAll()
    }

    companion object {
        /** An RGBA_8888 camera image as a core frame (one copy; the image can be closed). */
        fun toFrame(image: ImageProxy): Frame {
            val plane = image.planes[0]
            require(plane.pixelStride == 4) { "RGBA_8888 expected, pixel stride ${plane.pixelStride}" }
            val buffer = plane.buffer
            buffer.rewind()
            val bytes = ByteArray(buffer.remaining())
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
 * side by side (`fomm export --android-assets`), played in a loop at [fps]. Frames are offered
 * on a timer whatever the inference speed, so slow phones drop frames as with the camera.
 */
class ClipDriver(
    context: Context,
    private val sink: (Frame) -> Unit,
    private val fps: Int = 25,
) : Driver {
    private val frames: List<Frame> = decodeStrip(context)
    private var timer: ScheduledExecutorService? = null
    private var next = 0

    override fun start() {
        if (timer != null) return
        timer = Executors.newSingleThreadScheduledExecutor().also {
            it.scheduleAtFixedRate(
                { sink(frames[next++ % frames.size]) }, 0, 1000L / fps, TimeUnit.MILLISECONDS,
            )
        }
    }

    override fun stop() {
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
