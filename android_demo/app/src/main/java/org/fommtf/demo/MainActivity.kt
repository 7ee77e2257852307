package org.fommtf.demo

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Color
import android.graphics.Typeface
import android.os.Bundle
import android.view.View
import android.view.ViewGroup.LayoutParams.MATCH_PARENT
import android.view.ViewGroup.LayoutParams.WRAP_CONTENT
import android.widget.Button
import android.widget.CheckBox
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.TextView
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import java.util.concurrent.Executors

/**
 * One screen: the source photo and its live animation side by side, the camera preview, the
 * frame rate and per-stage milliseconds, and four controls: pick a photo, camera/clip driver,
 * re-centre (the current pose becomes the reference), GPU on/off.
 *
 * Frame path: [CameraDriver] / [ClipDriver] → [AnimationController.submit] (drops when busy) →
 * core `AnimationPipeline.animate` (fit → kp_detector → relative motion → generator, through
 * [LiteRtEngine]) → bitmap → [onFrame].
 */
class MainActivity : AppCompatActivity(), AnimationController.Listener {
    private lateinit var sourceView: ImageView
    private lateinit var outputView: ImageView
    private lateinit var preview: PreviewView
    private lateinit var statsView: TextView
    private lateinit var statusView: TextView
    private lateinit var errorView: TextView
    private lateinit var driverButton: Button
    private lateinit var controller: AnimationController
    private val decoder = Executors.newSingleThreadExecutor()
    private var driver: Driver? = null
    private var useCamera = true

    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) {
            decoder.execute {
                try {
                    val bitmap = Pictures.decode(this, uri, 256)
                    runOnUiThread { sourceView.setImageBitmap(bitmap) }
                    controller.setSource(Pictures.toFrame(bitmap))
                } catch (e: Exception) {
                    runOnUiThread { onError("Photo: ${e.message}") }
                }
            }
        }
    }

    private val askCamera = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) {
            startDriver()
        } else {
            useCamera = false
            onError("No camera permission: playing the bundled driving clip instead")
            startDriver()
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(buildLayout())
        controller = AnimationController(applicationContext, this)
        controller.load(useGpu = false)
        loadDefaultSource()
        startDriver()
    }

    private fun buildLayout(): View {
        val pad = (8 * resources.displayMetrics.density).toInt()
        val root = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(pad, pad, pad, pad)
        }
        val images = LinearLayout(this).apply { orientation = LinearLayout.HORIZONTAL }
        val side = resources.displayMetrics.widthPixels / 2 - pad
        sourceView = ImageView(this).apply { scaleType = ImageView.ScaleType.CENTER_CROP }
        outputView = ImageView(this).apply { scaleType = ImageView.ScaleType.FIT_CENTER }
        images.addView(sourceView, LinearLayout.LayoutParams(side, side))
        images.addView(outputView, LinearLayout.LayoutParams(side, side))
        root.addView(images)
        preview = PreviewView(this).apply { scaleType = PreviewView.ScaleType.FILL_CENTER }
        root.addView(preview, LinearLayout.LayoutParams(MATCH_PARENT, side / 2))
        statsView = TextView(this).apply { typeface = Typeface.MONOSPACE }
        statusView = TextView(this)
        errorView = TextView(this).apply {
            setTextColor(Color.rgb(200, 30, 30))
            visibility = View.GONE
        }
        root.addView(statsView, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        root.addView(statusView, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        root.addView(errorView, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        val buttons = LinearLayout(this).apply { orientation = LinearLayout.HORIZONTAL }
        buttons.addView(Button(this).apply {
            text = "Photo…"
            setOnClickListener {
                pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
            }
        })
        driverButton = Button(this).apply {
            text = "Use clip"
            setOnClickListener {
                useCamera = !useCamera
                text = if (useCamera) "Use clip" else "Use camera"
                startDriver()
            }
        }
        buttons.addView(driverButton)
        buttons.addView(Button(this).apply {
            text = "Re-centre"
            setOnClickListener { controller.recentre() }
        })
        buttons.addView(CheckBox(this).apply {
            text = "GPU"
            setOnCheckedChangeListener { _, checked ->
                errorView.visibility = View.GONE
                controller.load(useGpu = checked)
            }
        })
        root.addView(buttons)
        return root
    }

    /** The bundled `source.png` until the user picks a photo. */
    private fun loadDefaultSource() {
        decoder.execute {
            try {
                val bitmap = assets.open("source.png").use { BitmapFactory.decodeStream(it) }
                    ?: throw IllegalStateException("source.png is not an image")
                runOnUiThread { sourceView.setImageBitmap(bitmap) }
                controller.setSource(Pictures.toFrame(bitmap))
            } catch (e: Exception) {
                runOnUiThread { onError("No default source in the assets (make android-assets): ${e.message}") }
            }
        }
    }

    private fun startDriver() {
        driver?.stop()
        driver = null
        controller.recentre()
        if (useCamera) {
            if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA)
                != PackageManager.PERMISSION_GRANTED
            ) {
                askCamera.launch(Manifest.permission.CAMERA)
                return
            }
            preview.visibility = View.VISIBLE
            driver = CameraDriver(this, this, preview, { controller.submit(it) }, { onErrorAsync(it) })
        } else {
            preview.visibility = View.GONE
            driver = try {
                ClipDriver(this, { controller.submit(it) })
            } catch (e: Exception) {
                onError("No driving clip in the assets (make android-assets): ${e.message}")
                null
            }
        }
        driverButton.text = if (useCamera) "Use clip" else "Use camera"
        driver?.start()
    }

    private fun onErrorAsync(error: Throwable) {
        runOnUiThread { onError("${error.javaClass.simpleName}: ${error.message}") }
    }

    override fun onFrame(frame: Bitmap, stats: String) {
        outputView.setImageBitmap(frame)
        statsView.text = stats
    }

    override fun onStatus(text: String) {
        statusView.text = text
    }

    override fun onError(message: String) {
        errorView.text = message
        errorView.visibility = View.VISIBLE
    }

    override fun onDestroy() {
        driver?.stop()
        controller.close()
        decoder.shutdown()
        super.onDestroy()
    }
}
